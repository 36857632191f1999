import { generate } from 'otplib';
import { Client } from 'pg';
import { QueryTypes } from 'sequelize';
import { buildEvent } from '../../../shared/src/events/outbox';
import type { EventType } from '../../../shared/src/events/schemas';
import { processJob } from '../../../workers/src/process-event';
import { startHarness, PASSWORD, type Harness } from '../../support/harness';
import { signIn, type BrowserSession } from '../../support/browser-session';
import { handlerContext } from '../organizations/fixtures';
import { jobOf, waitFor } from '../workers/worker-harness';

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
    // A wrong current password is 403, as in the password change: a 401 would tell the client to sign in again.
    const wrongPw = await h.http.post('/auth/mfa/totp/enroll').set('Authorization', bearer).send({ currentPassword: 'not my password!!' });
    expect(wrongPw.status).toBe(403);
    expect(wrongPw.body).toMatchObject({ code: 'forbidden', detail: 'The current password is not correct.' });
    expect(wrongPw.headers['www-authenticate']).toBeUndefined();
    const enroll = await h.http.post('/auth/mfa/totp/enroll').set('Authorization', bearer).send({ currentPassword: PASSWORD });
    expect(enroll.status).toBe(200);
    expect(enroll.body.otpauthUri).toMatch(/^otpauth:\/\/totp\/.+secret=/);
    const secret: string = enroll.body.secret;

    const wrongPwConfirm = await h.http.post('/auth/mfa/totp/confirm').set('Authorization', bearer).send({ code: '000000', currentPassword: 'not my password!!' });
    expect(wrongPwConfirm.status).toBe(403);
    expect(wrongPwConfirm.body).toMatchObject({ code: 'forbidden', detail: 'The current password is not correct.' });
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

    const wrongPwDisable = await h.http
      .post('/auth/mfa/totp/disable')
      .set('Authorization', `Bearer ${ok.body.accessToken}`)
      .send({ currentPassword: 'not my password!!', code: confirm.body.recoveryCodes[1] });
    expect(wrongPwDisable.status).toBe(403);
    expect(wrongPwDisable.body).toMatchObject({ code: 'forbidden', detail: 'The current password is not correct.' });
    // The session is as good as before the wrong password.
    expect((await h.http.get('/me').set('Authorization', `Bearer ${ok.body.accessToken}`)).status).toBe(200);
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

/** A signed-in user with TOTP enabled (the enrolment spent the current time step). */
async function mfaUser() {
  const s = await signIn(h);
  const bearer = `Bearer ${s.accessToken}`;
  const { secret } = (await h.http.post('/auth/mfa/totp/enroll').set('Authorization', bearer).send({ currentPassword: PASSWORD })).body;
  const confirm = await h.http.post('/auth/mfa/totp/confirm').set('Authorization', bearer).send({ code: await codeAt(secret, 0) });
  expect(confirm.status).toBe(200);
  return { s, secret: secret as string, recoveryCodes: confirm.body.recoveryCodes as string[] };
}

async function sessionCount(userId: string): Promise<number> {
  const [row] = await h.deps.db.query<{ n: number }>('SELECT count(*)::int AS n FROM sessions WHERE user_id = :userId', {
    type: QueryTypes.SELECT,
    replacements: { userId },
  });
  return row!.n;
}

async function spentRecoveryCodes(userId: string): Promise<number> {
  const [row] = await h.deps.db.query<{ n: number }>('SELECT count(*)::int AS n FROM mfa_recovery_codes WHERE user_id = :userId AND used_at IS NOT NULL', {
    type: QueryTypes.SELECT,
    replacements: { userId },
  });
  return row!.n;
}

/** A security event from a product backend, applied as the worker applies it. */
async function applyUserEvent(type: Extract<EventType, 'user.suspended' | 'user.security_reset'>, userId: string): Promise<void> {
  const event = buildEvent({ type, source: 'service:test', actor: { type: 'service', id: 'test' }, data: { userId } });
  expect(await processJob(jobOf(event), handlerContext(h))).toBe('applied');
}

describe('the MFA step re-checks what the password step checked (G6)', () => {
  const changes: Array<{ change: string; apply: (s: BrowserSession) => Promise<unknown>; code: string; status: number }> = [
    {
      change: 'logout-all',
      apply: (s) => h.http.post('/auth/logout-all').set('Authorization', `Bearer ${s.accessToken}`).then((r) => expect(r.status).toBe(204)),
      code: 'invalid_credentials',
      status: 401,
    },
    {
      change: 'a password change',
      apply: (s) =>
        h.http
          .post('/auth/password/change')
          .set('Authorization', `Bearer ${s.accessToken}`)
          .send({ currentPassword: PASSWORD, newPassword: 'an entirely different passphrase' })
          .then((r) => expect(r.status).toBe(200)),
      code: 'invalid_credentials',
      status: 401,
    },
    { change: 'a suspension', apply: (s) => applyUserEvent('user.suspended', s.userId), code: 'user_suspended', status: 401 },
    { change: 'a security reset', apply: (s) => applyUserEvent('user.security_reset', s.userId), code: 'forbidden', status: 403 },
  ];

  it.each(changes)('after $change between the steps: $code, no session, the challenge spent and the code not', async ({ apply, code, status }) => {
    const { s, secret, recoveryCodes } = await mfaUser();
    const { challengeId } = (await h.http.post('/auth/login').send({ email: s.email, password: PASSWORD })).body;
    expect(challengeId).toEqual(expect.any(String));
    await apply(s);
    const sessions = await sessionCount(s.userId);
    const res = await h.http.post('/auth/mfa/verify').send({ challengeId, code: recoveryCodes[0] });
    expect(res.status).toBe(status);
    expect(res.body.code).toBe(code);
    expect(res.headers['set-cookie']).toBeUndefined();
    expect(await spentRecoveryCodes(s.userId)).toBe(0);
    const again = await h.http.post('/auth/mfa/verify').send({ challengeId, code: await codeAt(secret, 1) });
    expect(again.body.code).toBe('mfa_invalid');
    expect(await sessionCount(s.userId)).toBe(sessions);
  });

  it('a revocation committed while the code is being checked opens no session', async () => {
    const { s, secret } = await mfaUser();
    const { challengeId } = (await h.http.post('/auth/login').send({ email: s.email, password: PASSWORD })).body;
    const sessions = await sessionCount(s.userId);
    const client = new Client({ connectionString: h.config.databaseUrl });
    await client.connect();
    try {
      const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      // A logout-all in flight: the version bumped, not yet committed. The MFA step reads the user
      // as before (its checks pass) and waits, spending the code, until the bump commits.
      await client.query('BEGIN');
      await client.query('UPDATE users SET token_version = token_version + 1 WHERE id = $1', [s.userId]);
      const verifying = h.http.post('/auth/mfa/verify').send({ challengeId, code: await codeAt(secret, 1) }).then((r) => r);
      await waitFor(async () => {
        const blocked = await h.deps.db.query('SELECT 1 FROM pg_stat_activity WHERE :blocker = ANY (pg_blocking_pids(pid))', {
          type: QueryTypes.SELECT,
          replacements: { blocker: rows[0]!.pid },
        });
        return blocked.length > 0;
      }, 'the MFA step to wait for the user row');
      await client.query('COMMIT');
      const res = await verifying;
      expect(res.status).toBe(401);
      expect(res.body.code).toBe('invalid_credentials');
    } finally {
      await client.end();
    }
    expect(await sessionCount(s.userId)).toBe(sessions);
  });
});
