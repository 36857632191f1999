import { SignatureVerifier } from '../../../shared/src/tokens/access-token';
import { unlinkMatching } from '../../../shared/src/redis/nodes';
import { loadAuthState } from '../../../shared/src/verify/state-repository';
import { StateSync } from '../../../shared/src/verify/state-sync';
import type { StateCache } from '../../../shared/src/verify/state-cache';
import { TokenVerifier } from '../../../shared/src/verify/token-verifier';
import { signIn, type BrowserSession } from '../../support/browser-session';
import { startHarness, type Harness } from '../../support/harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());

const me = (token: string) => h.http.get('/me').set('Authorization', `Bearer ${token}`);

/** What a FLUSHALL does to one user (the whole Redis is shared with other test files). */
const flushUser = (userId: string) => unlinkMatching(h.deps.redis, `${h.prefix}:{u:${userId}}*`);

/** Signs in, then leaves nothing of that user in Redis, so the next verification reads Postgres. */
async function uncachedSession(): Promise<BrowserSession> {
  const s = await signIn(h);
  await flushUser(s.userId);
  return s;
}

/** Between a read from Postgres and its write-back: the session is revoked (and written as such), then Redis is flushed. */
async function revokeThenFlush(s: BrowserSession): Promise<void> {
  expect((await h.http.post('/auth/logout').set('Authorization', `Bearer ${s.accessToken}`)).status).toBe(204);
  expect(await h.deps.redis.get(h.deps.keys.session(s.userId, s.sessionId))).toMatch(/^1\|revoked/);
  await flushUser(s.userId);
}

describe('state read from Postgres before a flush is never written back after it (G4, G5)', () => {
  it('read-through: a verification that read the session live before a logout and a flush does not cache it live', async () => {
    const s = await uncachedSession();
    const verifier = new TokenVerifier({
      signatures: new SignatureVerifier({
        getKey: h.deps.keyRing.getKey,
        issuer: h.config.jwt.issuer,
        audience: h.config.jwt.audience,
        algorithms: [h.config.jwt.algorithm],
      }),
      cache: h.deps.stateCache,
      source: {
        load: async (sub, sid, mid) => {
          const state = await loadAuthState(h.deps.db, sub, sid, mid);
          await revokeThenFlush(s);
          return state;
        },
      },
    });
    // The verification began before the logout answered: accepting it then is correct.
    await expect(verifier.verify(s.accessToken)).resolves.toMatchObject({ sid: s.sessionId });

    expect(await h.deps.redis.get(h.deps.keys.session(s.userId, s.sessionId))).toBeNull();
    expect((await me(s.accessToken)).body.code).toBe('session_revoked');
    expect(await h.deps.redis.get(h.deps.keys.session(s.userId, s.sessionId))).toMatch(/^1\|revoked/);
  });

  it('rebuild: a StateSync that read the session live before a logout and a flush does not cache it live', async () => {
    const s = await uncachedSession();
    const cache = h.deps.stateCache;
    const racing = Object.create(cache) as StateCache;
    racing.writeUserState = async (...args: Parameters<StateCache['writeUserState']>) => {
      await revokeThenFlush(s);
      return cache.writeUserState(...args);
    };
    await new StateSync(h.deps.db, racing).user(s.userId);

    expect(await h.deps.redis.get(h.deps.keys.session(s.userId, s.sessionId))).toBeNull();
    expect(await h.deps.redis.get(h.deps.keys.user(s.userId))).toBeNull();
    expect((await me(s.accessToken)).body.code).toBe('session_revoked');
  });

  it('without a flush, both write back what they read', async () => {
    const s = await uncachedSession();
    expect((await me(s.accessToken)).status).toBe(200);
    expect(await h.deps.redis.get(h.deps.keys.session(s.userId, s.sessionId))).toMatch(/^0\|live/);

    await flushUser(s.userId);
    await new StateSync(h.deps.db, h.deps.stateCache).user(s.userId);
    expect(await h.deps.redis.get(h.deps.keys.session(s.userId, s.sessionId))).toMatch(/^0\|live/);
    expect(await h.deps.redis.get(h.deps.keys.user(s.userId))).toMatch(/^\d+\|active/);
  });
});
