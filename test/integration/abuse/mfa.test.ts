import { generate } from 'otplib';
import { startHarness, PASSWORD, type Harness } from '../../support/harness';
import { signIn } from '../../support/browser-session';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());

const codeAt = (secret: string, offsetSteps: number) => generate({ secret, epoch: Math.floor(Date.now() / 1000) + offsetSteps * 30 });

describe('TOTP MFA', () => {
  it('enrols, asks for a code at sign-in, refuses a replayed code, accepts a recovery code once, disables', async () => {
    const s = await signIn(h);
    const bearer = `Bearer ${s.accessToken}`;
    const wrongPw = await h.http.post('/auth/mfa/totp/enroll').set('Authorization', bearer).send({ currentPassword: 'not my password!!' });
    expect(wrongPw.body.code).toBe('invalid_credentials');
    // Every 401 of a protected route names its code in WWW-Authenticate (contract section 3).
    expect(wrongPw.headers['www-authenticate']).toBe('Bearer error="invalid_token", error_description="invalid_credentials"');
    const enroll = await h.http.post('/auth/mfa/totp/enroll').set('Authorization', bearer).send({ currentPassword: PASSWORD });
    expect(enroll.status).toBe(200);
    expect(enroll.body.otpauthUri).toMatch(/^otpauth:\/\/totp\/.+secret=/);
    const secret: string = enroll.body.secret;

    const badConfirm = await h.http.post('/auth/mfa/totp/confirm').set('Authorization', bearer).send({ code: '000000' });
    expect(badConfirm.body.code).toBe('mfa_invalid');
    expect(badConfirm.headers['www-authenticate']).toBe('Bearer error="invalid_token", error_description="mfa_invalid"');
    const confirmCode = await codeAt(secret, 0);
    const confirm = await h.http.post('/auth/mfa/totp/confirm').set('Authorization', bearer).send({ code: confirmCode });
    expect(confirm.status).toBe(200);
    expect(confirm.body.recoveryCodes).toHaveLength(10);
    expect(new Set(confirm.body.recoveryCodes).size).toBe(10);

    const step1 = await h.http.post('/auth/login').send({ email: s.email, password: PASSWORD });
    expect(step1.status).toBe(200);
    expect(step1.body).toEqual({ mfaRequired: true, challengeId: expect.any(String) });
    expect(step1.headers['set-cookie']).toBeUndefined();
    const replay = await h.http.post('/auth/mfa/verify').send({ challengeId: step1.body.challengeId, code: confirmCode });
    expect(replay.body.code).toBe('mfa_invalid');
    expect(replay.headers['www-authenticate']).toBeUndefined(); // not a protected route
    const next = await codeAt(secret, 1);
    const ok = await h.http.post('/auth/mfa/verify').send({ challengeId: step1.body.challengeId, code: next });
    expect(ok.status).toBe(200);
    expect(ok.body.accessToken).toEqual(expect.any(String));
    expect((ok.headers['set-cookie'] as unknown as string[]).join(';')).toMatch(/__Host-lk_rt=/);
    const reuseChallenge = await h.http.post('/auth/mfa/verify').send({ challengeId: step1.body.challengeId, code: next });
    expect(reuseChallenge.body.code).toBe('mfa_invalid');

    const recovery = confirm.body.recoveryCodes[0];
    const step2 = await h.http.post('/auth/login').send({ email: s.email, password: PASSWORD });
    expect((await h.http.post('/auth/mfa/verify').send({ challengeId: step2.body.challengeId, code: recovery })).status).toBe(200);
    const step3 = await h.http.post('/auth/login').send({ email: s.email, password: PASSWORD });
    expect((await h.http.post('/auth/mfa/verify').send({ challengeId: step3.body.challengeId, code: recovery })).body.code).toBe('mfa_invalid');

    const disable = await h.http
      .post('/auth/mfa/totp/disable')
      .set('Authorization', `Bearer ${ok.body.accessToken}`)
      .send({ currentPassword: PASSWORD, code: confirm.body.recoveryCodes[1] });
    expect(disable.status).toBe(204);
    const plain = await h.http.post('/auth/login').send({ email: s.email, password: PASSWORD });
    expect(plain.body.accessToken).toEqual(expect.any(String));
  });

  it('burns a challenge after five wrong codes', async () => {
    const s = await signIn(h);
    const bearer = `Bearer ${s.accessToken}`;
    const { secret } = (await h.http.post('/auth/mfa/totp/enroll').set('Authorization', bearer).send({ currentPassword: PASSWORD })).body;
    await h.http.post('/auth/mfa/totp/confirm').set('Authorization', bearer).send({ code: await codeAt(secret, 0) });
    const { challengeId } = (await h.http.post('/auth/login').send({ email: s.email, password: PASSWORD })).body;
    for (let i = 0; i < 5; i++) expect((await h.http.post('/auth/mfa/verify').send({ challengeId, code: '123456' })).body.code).toBe('mfa_invalid');
    const right = await h.http.post('/auth/mfa/verify').send({ challengeId, code: await codeAt(secret, 1) });
    expect(right.body.code).toBe('mfa_invalid');
  });
});
