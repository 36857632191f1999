import { QueryTypes } from 'sequelize';
import { buildEvent, insertOutboxEvent, TRANSIENT_FAILURE } from '../../../shared/src/events/outbox';
import { catchUpPendingChanges } from '../../../shared/src/verify/outage-catch-up';
import { StateSync } from '../../../shared/src/verify/state-sync';
import { signIn } from '../../support/browser-session';
import { startHarness, type Harness } from '../../support/harness';
import { createOwnDatabase } from '../../support/own-database';

/**
 * G5 across a lost connection to a Redis that did not restart (a network cut, not a crash): its
 * data is intact, so the guard trusts it again, but a revocation committed while it was out of
 * reach never got its write-through. Before trusting it, the API rewrites what the outbox's
 * pending events name. A database of its own: other files' workers would relay its pending events.
 */
let own: Awaited<ReturnType<typeof createOwnDatabase>>;
let h: Harness;
beforeAll(async () => {
  own = await createOwnDatabase('outage_catch_up');
  h = await startHarness({ DATABASE_URL: own.url });
});
afterAll(async () => {
  await h?.close();
  await own?.drop().catch(() => undefined);
});

const me = (token: string) => h.http.get('/me').set('Authorization', `Bearer ${token}`);

/** The cached state of that session once the cache is trusted again (reads refuse until then). */
async function sessionStateOnceTrusted(userId: string, sessionId: string): Promise<unknown> {
  for (let i = 0; i < 100; i++) {
    try {
      return (await h.deps.stateCache.read(userId, sessionId)).session;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error('the cache was never trusted again');
}

it.each([
  ['pending', undefined],
  ['failed transiently by a worker meanwhile', TRANSIENT_FAILURE],
  ['claimed by a worker that could not write Redis either, and chained since', 'claimed'],
])('rewrites what a revocation committed during the cut could not write (its event %s), before trusting the server again', async (_, failure) => {
  const s = await signIn(h);
  expect((await me(s.accessToken)).status).toBe(200);
  expect(await h.deps.redis.get(h.deps.keys.session(s.userId, s.sessionId))).toMatch(/^0\|live/);

  h.deps.redis.disconnect(); // this process's cut: Redis itself keeps running with its data
  const logout = await h.http.post('/auth/logout').set('Authorization', `Bearer ${s.accessToken}`);
  expect(logout.status).toBe(503); // committed, but not written through: the client retries
  const find = { type: QueryTypes.SELECT as const, replacements: { sid: s.sessionId, failure: failure ?? null } };
  if (failure === 'claimed') {
    // As a worker leaves it whose write-through failed too: claimed, its record chained by the drain.
    await h.deps.db.query("UPDATE events SET status = 'processed', processed_at = now() WHERE type = 'auth.logout' AND data->>'sessionId' = :sid", find);
  } else if (failure) {
    await h.deps.db.query("UPDATE events SET status = 'failed', error = :failure WHERE type = 'auth.logout' AND data->>'sessionId' = :sid", find);
  }
  const [event] = await h.deps.db.query<{ status: string }>("SELECT status FROM events WHERE type = 'auth.logout' AND data->>'sessionId' = :sid", find);
  expect(event?.status).toBe(failure === 'claimed' ? 'processed' : failure ? 'failed' : 'pending');

  await h.deps.redis.connect();
  expect(await sessionStateOnceTrusted(s.userId, s.sessionId)).toMatchObject({ revoked: true });
  const res = await me(s.accessToken);
  expect(res.status).toBe(401);
  expect(res.body.code).toBe('session_revoked');
});

it('with more pending subjects than it rewrites, drops the state instead (read through on demand)', async () => {
  const [a, b] = [await signIn(h), await signIn(h)];
  for (const s of [a, b]) {
    const event = buildEvent({ type: 'user.logged_out_all', source: 'service:test', actor: { type: 'service', id: 'test' }, data: { userId: s.userId } });
    await h.deps.db.transaction((t) => insertOutboxEvent(h.deps.db, t, event));
  }
  const sync = new StateSync(h.deps.db, h.deps.stateCache);
  let dropped = 0;
  await catchUpPendingChanges(h.deps.db, sync, new Date(), async () => dropped++, 1);
  expect(dropped).toBe(1);
  await catchUpPendingChanges(h.deps.db, sync, new Date(), async () => dropped++);
  expect(dropped).toBe(1);
});
