import { QueryTypes } from 'sequelize';
import { refresh, signIn } from '../../support/browser-session';
import { startHarness, type Harness } from '../../support/harness';

/**
 * Check 2 of the contract: a session past its expiry (the earlier of its idle and absolute
 * expiries) refuses its access tokens with session_expired, whatever Redis held, while the idle
 * expiry a refresh slid forward never makes a live session look expired.
 */
let h: Harness;
beforeAll(async () => {
  h = await startHarness({ REFRESH_IDLE_TTL: '120', ACCESS_TOKEN_TTL: '600' });
});
afterAll(() => h.close());

const me = (token: string) => h.http.get('/me').set('Authorization', `Bearer ${token}`);

async function idleExpiresAt(sessionId: string): Promise<Date> {
  const [row] = await h.deps.db.query<{ idle_expires_at: Date }>('SELECT idle_expires_at FROM sessions WHERE id = :id', {
    type: QueryTypes.SELECT,
    replacements: { id: sessionId },
  });
  return row!.idle_expires_at;
}

it("caches a live session no longer than its idle expiry, so the slid one is read back from Postgres", async () => {
  const s = await signIn(h);
  expect((await me(s.accessToken)).status).toBe(200); // read through: the key is written
  const ttl = await h.deps.redis.pttl(h.deps.keys.session(s.userId, s.sessionId));
  const idleLeft = (await idleExpiresAt(s.sessionId)).getTime() - Date.now();
  expect(ttl).toBeGreaterThan(0);
  expect(ttl).toBeLessThan(idleLeft);
  expect((await refresh(h, s)).status).toBe(200);
  expect((await me(s.accessToken)).status).toBe(200);
});

it('refuses the access token of a session that went idle with session_expired', async () => {
  const s = await signIn(h);
  expect((await me(s.accessToken)).status).toBe(200);
  // As 120 s without a refresh would: the idle expiry passes, and with it the key cached until then.
  await h.deps.db.query("UPDATE sessions SET idle_expires_at = now() - interval '1 second' WHERE id = :id", { replacements: { id: s.sessionId } });
  await h.deps.redis.del(h.deps.keys.session(s.userId, s.sessionId));
  const res = await me(s.accessToken);
  expect(res.status).toBe(401);
  expect(res.body.code).toBe('session_expired');
  // Expiry is terminal: cached as such (not read from Postgres on every request of its tokens).
  const ttl = await h.deps.redis.ttl(h.deps.keys.session(s.userId, s.sessionId));
  expect(ttl).toBeGreaterThan(0);
  expect(ttl).toBeLessThanOrEqual(900);
  expect((await me(s.accessToken)).body.code).toBe('session_expired');
  expect((await refresh(h, s)).body.code).toBe('session_expired');
});

describe('with lifetimes of seconds, as a test rig sets them', () => {
  let short: Harness;
  beforeAll(async () => {
    short = await startHarness({ REFRESH_IDLE_TTL: '2', REFRESH_ABSOLUTE_TTL: '3' });
  });
  afterAll(() => short.close());

  it('a session goes idle in real time: its access token and its refresh are refused with session_expired', async () => {
    const s = await signIn(short);
    const meShort = () => short.http.get('/me').set('Authorization', `Bearer ${s.accessToken}`);
    expect((await meShort()).status).toBe(200);
    await new Promise((r) => setTimeout(r, 2_500));
    expect((await meShort()).body.code).toBe('session_expired');
    expect((await refresh(short, s)).body.code).toBe('session_expired');
  });
});
