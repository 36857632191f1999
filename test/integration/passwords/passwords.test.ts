import { QueryTypes } from 'sequelize';
import { sha256 } from '../../../shared/src/tokens/sealing';
import { PASSWORD, uniqueEmail } from '../../support/harness';
import { CookieJar, refresh, registerUser, signIn } from '../../support/browser-session';
import { mailsTo, probe, startRig, waitFor, waitProcessed, type WorkerRig } from '../workers/worker-harness';

let rig: WorkerRig;
beforeAll(async () => {
  rig = await startRig();
});
afterAll(() => rig.close());

const NEW_PASSWORD = 'an entirely different passphrase';

/** POST /auth/password/change with the session's access token (and a cookie, as a browser sends it). */
function changePassword(me: { accessToken: string }, body: object, cookie?: string) {
  const req = rig.h.http.post('/auth/password/change').set('Authorization', `Bearer ${me.accessToken}`);
  return (cookie ? req.set('Cookie', cookie) : req).send(body);
}

/** How many refresh-token reuse alerts were raised for a session. */
async function reusedAlerts(h: WorkerRig['h'], sessionId: string): Promise<number> {
  const rows = await h.deps.db.query("SELECT 1 FROM events WHERE type = 'refresh_token.reused' AND data->>'sessionId' = :sid", {
    type: QueryTypes.SELECT,
    replacements: { sid: sessionId },
  });
  return rows.length;
}

async function resetLink(email: string, kind: 'password_reset' | 'email_verification'): Promise<string> {
  const mail = await waitFor(async () => (await mailsTo(rig.h, email)).filter((m) => m.kind === kind).pop(), `${kind} mail`);
  return new URL(mail.link!).searchParams.get('token')!;
}

describe('password change', () => {
  it('refuses every old access token at once, keeps this session with a fresh token and rotated cookie', async () => {
    const { h } = rig;
    const me = await signIn(h);
    const other = await signIn(h, { email: me.email });
    const oldCookie = me.jar.header();
    const res = await changePassword(me, { currentPassword: PASSWORD, newPassword: NEW_PASSWORD }, oldCookie);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ tokenType: 'Bearer', session: { id: me.sessionId } });
    expect(JSON.stringify(res.body)).not.toContain(NEW_PASSWORD);
    // G1: the first request after the answer is refused, before any worker ran.
    expect(await probe(h, me.accessToken)).toEqual({ status: 401, code: 'token_version_stale' });
    expect(await probe(h, other.accessToken)).toEqual({ status: 401, code: 'session_revoked' });
    expect((await probe(h, res.body.accessToken)).status).toBe(200);
    me.jar.store(res.headers['set-cookie']);
    expect(me.jar.header()).not.toBe(oldCookie);
    expect((await refresh(h, me)).status).toBe(200);
    expect((await h.http.post('/auth/login').send({ email: me.email, password: PASSWORD })).body.code).toBe('invalid_credentials');
    await signIn(h, { email: me.email, password: NEW_PASSWORD });
    // The outbox event is processed once, and the user is told.
    const [event] = await h.deps.db.query<{ id: string; source: string }>(
      `SELECT id, source FROM events WHERE type = 'user.password_changed' AND data->>'userId' = :u`,
      { type: QueryTypes.SELECT, replacements: { u: me.userId } },
    );
    expect(event!.source).toBe('api');
    await waitProcessed(h, [event!.id]);
    expect((await mailsTo(h, me.email)).filter((m) => m.kind === 'password_changed')).toHaveLength(1);
  });

  it('keeps the session for a tab whose refresh raced the change with the same cookie', async () => {
    const { h } = rig;
    const me = await signIn(h);
    const cookieBefore = me.jar.header();
    // Tab B's refresh lands first and gets a successor; tab A's change then presents the old cookie.
    const tabB = await h.http.post('/auth/refresh').set('Cookie', cookieBefore).set('X-CSRF-Token', me.csrf);
    expect(tabB.status).toBe(200);
    const change = await changePassword(me, { currentPassword: PASSWORD, newPassword: NEW_PASSWORD }, cookieBefore);
    expect(change.status).toBe(200);
    // Tab B's cookie, presented within the grace window, leads to the token the change issued.
    const jarB = new CookieJar();
    jarB.store(cookieBefore.split('; '));
    jarB.store(tabB.headers['set-cookie']);
    const again = await h.http.post('/auth/refresh').set('Cookie', jarB.header()).set('X-CSRF-Token', me.csrf);
    expect(again.status).toBe(200);
    expect(again.body.session.id).toBe(me.sessionId);
    expect(await probe(h, change.body.accessToken)).toEqual({ status: 200 });
    expect(await reusedAlerts(h, me.sessionId)).toBe(0);
  });

  it('racing refreshes of the same cookie: never a 5xx, and the kept session lives (locks taken in either order are retried)', async () => {
    const { h } = rig;
    for (let round = 0; round < 5; round++) {
      const me = await signIn(h);
      const cookie = me.jar.header();
      const refreshOnce = () => h.http.post('/auth/refresh').set('Cookie', cookie).set('X-CSRF-Token', me.csrf);
      const [change, ...refreshes] = await Promise.all([
        changePassword(me, { currentPassword: PASSWORD, newPassword: `${NEW_PASSWORD} ${round}` }, cookie),
        refreshOnce(),
        refreshOnce(),
        refreshOnce(),
      ]);
      for (const res of [change, ...refreshes]) expect(res.status).toBeLessThan(500);
      expect(change.status).toBe(200);
      expect(await probe(h, change.body.accessToken)).toEqual({ status: 200 });
      expect(await reusedAlerts(h, me.sessionId)).toBe(0);
    }
  });

  it('refuses, without signing the kept session out, a retired cookie the change did not see', async () => {
    const { h } = rig;
    const me = await signIn(h);
    const oldCookie = me.jar.header();
    const change = await changePassword(me, { currentPassword: PASSWORD, newPassword: NEW_PASSWORD });
    expect(change.status).toBe(200);
    const stale = await h.http.post('/auth/refresh').set('Cookie', oldCookie).set('X-CSRF-Token', me.csrf);
    expect(stale.status).toBe(401);
    expect(stale.body.code).toBe('refresh_token_invalid');
    expect(await probe(h, change.body.accessToken)).toEqual({ status: 200 });
    me.jar.store(change.headers['set-cookie']);
    expect((await refresh(h, me)).status).toBe(200);
    expect(await reusedAlerts(h, me.sessionId)).toBe(0);
  });

  it('signs this session out too with keepCurrentSession: false', async () => {
    const { h } = rig;
    const me = await signIn(h);
    const res = await changePassword(me, { currentPassword: PASSWORD, newPassword: NEW_PASSWORD, keepCurrentSession: false });
    expect(res.status).toBe(204);
    expect(await probe(h, me.accessToken)).toEqual({ status: 401, code: 'session_revoked' });
  });

  it('refuses a wrong current password without changing anything', async () => {
    const { h } = rig;
    const me = await signIn(h);
    const res = await changePassword(me, { currentPassword: 'not my password at all', newPassword: NEW_PASSWORD });
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('forbidden');
    expect((await probe(h, me.accessToken)).status).toBe(200);
    const short = await changePassword(me, { currentPassword: PASSWORD, newPassword: 'short' });
    expect(short.body.code).toBe('validation_failed');
  });
});

describe('forgot and reset', () => {
  it('answers the same for unknown and known addresses and mails only the known one', async () => {
    const { h } = rig;
    const email = await registerUser(h);
    const unknown = uniqueEmail('ghost');
    const a = await h.http.post('/auth/password/forgot').send({ email });
    const b = await h.http.post('/auth/password/forgot').send({ email: unknown });
    expect([a.status, b.status]).toEqual([202, 202]);
    expect(a.body).toEqual(b.body);
    await resetLink(email, 'password_reset');
    expect(await mailsTo(h, unknown)).toHaveLength(0);
  });

  it('resets with the single-use token, revokes every session, signs nobody in', async () => {
    const { h } = rig;
    const me = await signIn(h);
    await h.http.post('/auth/password/forgot').send({ email: me.email }).expect(202);
    const token = await resetLink(me.email, 'password_reset');
    const res = await h.http.post('/auth/password/reset').send({ token, newPassword: NEW_PASSWORD });
    expect(res.status).toBe(204);
    expect(res.body).toEqual({});
    expect(await probe(h, me.accessToken)).toEqual({ status: 401, code: 'session_revoked' });
    expect((await refresh(h, me)).body.code).toBe('session_revoked');
    const again = await h.http.post('/auth/password/reset').send({ token, newPassword: 'yet another long passphrase' });
    expect(again.status).toBe(400);
    expect(again.body.code).toBe('validation_failed');
    await signIn(h, { email: me.email, password: NEW_PASSWORD });
    // Stored as its SHA-256 only, and spent.
    const [row] = await h.deps.db.query<{ used: boolean }>('SELECT used_at IS NOT NULL AS used FROM one_time_tokens WHERE token_hash = :hash', {
      type: QueryTypes.SELECT,
      replacements: { hash: sha256(token) },
    });
    expect(row).toEqual({ used: true });
  });

  it('refuses an unknown token', async () => {
    const res = await rig.h.http.post('/auth/password/reset').send({ token: 'A'.repeat(43), newPassword: NEW_PASSWORD });
    expect(res.body.code).toBe('validation_failed');
  });
});

describe('email verification', () => {
  it('verifies with the emailed token, once', async () => {
    const { h } = rig;
    const email = await registerUser(h);
    const token = await resetLink(email, 'email_verification');
    await h.http.post('/auth/email/verify').send({ token }).expect(204);
    const s = await signIn(h, { email });
    const me = await h.http.get('/me').set('Authorization', `Bearer ${s.accessToken}`);
    expect(me.body.user.emailVerified).toBe(true);
    expect((await h.http.post('/auth/email/verify').send({ token })).status).toBe(400);
  });
});
