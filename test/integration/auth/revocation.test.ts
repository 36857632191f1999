import { startHarness, type Harness } from '../../support/harness';
import { signIn } from '../../support/browser-session';
import { PASSWORD } from '../../support/harness';
import { unlinkMatching } from '../../../shared/src/redis/nodes';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());

const me = (token: string) => h.http.get('/me').set('Authorization', `Bearer ${token}`);

describe('synchronous revocation (G1)', () => {
  it('logout with a Bearer token revokes this session at once', async () => {
    const s = await signIn(h);
    expect((await me(s.accessToken)).status).toBe(200);
    const out = await h.http.post('/auth/logout').set('Authorization', `Bearer ${s.accessToken}`);
    expect(out.status).toBe(204);
    const res = await me(s.accessToken);
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('session_revoked');
    expect(res.headers['www-authenticate']).toBe('Bearer error="invalid_token", error_description="session_revoked"');
  });

  it('logout-all refuses every session of the user at once, other users untouched', async () => {
    const a = await signIn(h);
    const b = await signIn(h, { email: a.email });
    const other = await signIn(h);
    expect((await h.http.post('/auth/logout-all').set('Authorization', `Bearer ${a.accessToken}`)).status).toBe(204);
    for (const token of [a.accessToken, b.accessToken]) {
      const res = await me(token);
      expect(res.status).toBe(401);
      expect(['session_revoked', 'token_version_stale']).toContain(res.body.code);
    }
    expect((await me(other.accessToken)).status).toBe(200);
    const refreshB = await h.http.post('/auth/refresh').set('Cookie', b.jar.header()).set('X-CSRF-Token', b.csrf);
    expect(refreshB.body.code).toBe('session_revoked');
    const again = await h.http.post('/auth/login').send({ email: a.email, password: PASSWORD });
    expect((await me(again.body.accessToken)).status).toBe(200);
  });

  it('lists sessions and revokes one of them; another user cannot see or revoke it', async () => {
    const a = await signIn(h, { deviceName: 'phone' });
    const b = await signIn(h, { email: a.email, deviceName: 'laptop' });
    const list = await h.http.get('/sessions').set('Authorization', `Bearer ${a.accessToken}`);
    expect(list.status).toBe(200);
    const ids = list.body.sessions.map((s: { id: string }) => s.id);
    expect(ids).toEqual(expect.arrayContaining([a.sessionId, b.sessionId]));
    const current = list.body.sessions.find((s: { current: boolean }) => s.current);
    expect(current).toMatchObject({ id: a.sessionId, deviceName: 'phone' });
    expect(Object.keys(current).sort()).toEqual(['createdAt', 'current', 'deviceName', 'expiresAt', 'id', 'ip', 'lastUsedAt', 'userAgent']);

    const stranger = await signIn(h);
    const foreign = await h.http.delete(`/sessions/${b.sessionId}`).set('Authorization', `Bearer ${stranger.accessToken}`);
    expect(foreign.status).toBe(404);
    expect(foreign.body.code).toBe('not_found');
    expect((await me(b.accessToken)).status).toBe(200);

    expect((await h.http.delete(`/sessions/${b.sessionId}`).set('Authorization', `Bearer ${a.accessToken}`)).status).toBe(204);
    expect((await me(b.accessToken)).body.code).toBe('session_revoked');
    expect((await me(a.accessToken)).status).toBe(200);
  });

  it("answers 404 for a session id that is not a UUID (no session of the user), as for someone else's", async () => {
    const a = await signIn(h);
    for (const id of ['not-a-uuid', '1', `${a.sessionId}x`]) {
      const res = await h.http.delete(`/sessions/${id}`).set('Authorization', `Bearer ${a.accessToken}`);
      expect(res.status).toBe(404);
      expect(res.body.code).toBe('not_found');
    }
    expect((await me(a.accessToken)).status).toBe(200);
  });
});

describe('verification state in Redis', () => {
  it('rebuilds a missing key from Postgres and never treats it as "no restriction"', async () => {
    const s = await signIn(h);
    expect((await me(s.accessToken)).status).toBe(200);
    await h.deps.db.query("UPDATE sessions SET revoked_at = now(), revoke_reason = 'test' WHERE id = :id", { replacements: { id: s.sessionId } });
    // The cached "live" value still answers until it is gone: drop every key of this user.
    await unlinkMatching(h.deps.redis, `${h.prefix}:{u:${s.userId}}:*`);
    const res = await me(s.accessToken);
    expect(res.body.code).toBe('session_revoked');
    expect(await h.deps.redis.get(h.deps.keys.session(s.userId, s.sessionId))).toMatch(/^1\|revoked/);
  });

  it('treats a cached token version lower than the token as a lost write and reads Postgres', async () => {
    const s = await signIn(h);
    await h.deps.db.query('UPDATE users SET token_version = token_version + 5 WHERE id = :id', { replacements: { id: s.userId } });
    await h.deps.redis.set(h.deps.keys.user(s.userId), '0|active');
    const res = await me(s.accessToken);
    expect(res.body.code).toBe('token_version_stale');
  });

  it('still refuses a revoked token when Redis is unreachable, reading Postgres', async () => {
    const down = await startHarness({}, { redisUrl: 'redis://127.0.0.1:1' });
    try {
      const s = await signIn(h);
      await h.http.post('/auth/logout').set('Authorization', `Bearer ${s.accessToken}`);
      const live = await signIn(h);
      // Same database and keys, no Redis: verification reads Postgres.
      const revoked = await down.http.get('/me').set('Authorization', `Bearer ${s.accessToken}`);
      expect(revoked.status).toBe(401);
      expect(revoked.body.code).toBe('session_revoked');
      const ok = await down.http.get('/me').set('Authorization', `Bearer ${live.accessToken}`);
      expect(ok.status).toBe(200);
    } finally {
      await down.close();
    }
  });

  it('answers 503 when neither Redis nor Postgres can be reached, never acceptance', async () => {
    const s = await signIn(h);
    const dark = await startHarness({}, { redisUrl: 'redis://127.0.0.1:1' });
    try {
      // Same signing keys are loaded; now cut Postgres from this app only.
      await dark.deps.db.close();
      const res = await dark.http.get('/me').set('Authorization', `Bearer ${s.accessToken}`);
      expect(res.status).toBe(503);
      expect(res.body.code).toBe('service_unavailable');
    } finally {
      await dark.close().catch(() => undefined);
    }
  });

  it('publishes the signing key in the JWKS', async () => {
    const res = await h.http.get('/.well-known/jwks.json');
    expect(res.status).toBe(200);
    expect(res.body.keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig', kid: expect.any(String) });
    expect(res.body.keys[0]).not.toHaveProperty('d');
  });

  it('reports health and readiness', async () => {
    expect((await h.http.get('/healthz')).body).toEqual({ status: 'ok' });
    const ready = await h.http.get('/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body.checks).toEqual({ postgres: true, redis: true, queue: true, migrations: true });
  });
});
