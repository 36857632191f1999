import { startHarness, type Harness } from '../../support/harness';
import { signIn } from '../../support/browser-session';
import { PrivateRedis } from '../../support/private-redis';

let redis: PrivateRedis;
let h: Harness;
beforeAll(async () => {
  redis = await PrivateRedis.start();
  h = await startHarness({}, { redisUrl: redis.url });
});
afterAll(async () => {
  await h.close();
  await redis.destroy();
});

const me = (token: string) => h.http.get('/me').set('Authorization', `Bearer ${token}`);

async function untilTrusted(): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if ((await me('x.y.z')).status === 401 && h.deps.redis.status === 'ready') {
      const state = await h.deps.redis.get(h.deps.keys.validatedInstance()).catch(() => null);
      if (state) return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('Redis restored from an older snapshot (R5)', () => {
  it('drops the stale state instead of trusting it: revoked sessions and stale versions stay refused', async () => {
    const revoked = await signIn(h);
    const bumped = await signIn(h);
    const valid = await signIn(h);
    for (const s of [revoked, bumped, valid]) expect((await me(s.accessToken)).status).toBe(200);
    await redis.snapshot(); // the "backup": every session live, every version current

    expect((await h.http.post('/auth/logout').set('Authorization', `Bearer ${revoked.accessToken}`)).status).toBe(204);
    expect((await h.http.post('/auth/logout-all').set('Authorization', `Bearer ${bumped.accessToken}`)).status).toBe(204);
    expect((await me(revoked.accessToken)).body.code).toBe('session_revoked');

    await redis.stop();
    // While Redis is away, verification reads Postgres.
    expect((await me(revoked.accessToken)).body.code).toBe('session_revoked');
    await redis.start(); // loads the old dump.rdb
    expect(await redis.cli('GET', h.deps.keys.session(revoked.userId, revoked.sessionId))).toMatch(/^0\|live/);

    // From the first request on, never an accept of the stale state; then the cache is trusted again.
    for (let i = 0; i < 20; i++) {
      expect((await me(revoked.accessToken)).status).toBe(401);
      expect((await me(bumped.accessToken)).status).toBe(401);
      expect((await me(valid.accessToken)).status).toBe(200);
    }
    await untilTrusted();
    expect((await me(revoked.accessToken)).body.code).toBe('session_revoked');
    expect(['session_revoked', 'token_version_stale']).toContain((await me(bumped.accessToken)).body.code);
    expect((await me(valid.accessToken)).status).toBe(200);
    expect(await redis.cli('GET', h.deps.keys.session(revoked.userId, revoked.sessionId))).toMatch(/^1\|revoked/);
  });
});
