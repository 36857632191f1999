import { randomUUID } from 'node:crypto';
import { QueryTypes } from 'sequelize';
import { startHarness, type Harness } from '../../support/harness';
import { serviceCredential } from '../workers/worker-harness';

// No worker here: what POST /v1/events promises is storage before the 202, not processing.
let h: Harness;
let credential: string;
beforeAll(async () => {
  h = await startHarness();
  ({ credential } = await serviceCredential(['events:write']));
});
afterAll(() => h.close());

const post = (body: unknown, cred = credential) => h.http.post('/v1/events').set('Authorization', `Bearer ${cred}`).send(body as object);
const userId = () => randomUUID();

describe('POST /v1/events', () => {
  it('stores the event before answering 202, with source and actor taken from the credential', async () => {
    const res = await post({ type: 'user.suspended', data: { userId: userId(), reason: 'r' }, source: undefined });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ eventIds: [expect.any(String)] });
    const [row] = await h.deps.db.query<{ status: string; source: string; actor_type: string; type: string }>(
      'SELECT status, source, actor_type, type FROM events WHERE id = :id',
      { type: QueryTypes.SELECT, replacements: { id: res.body.eventIds[0] } },
    );
    expect(row).toMatchObject({ status: 'pending', type: 'user.suspended', actor_type: 'service' });
    expect(row!.source).toMatch(/^service:svc-/);
    const status = await h.http.get(`/v1/events/${res.body.eventIds[0]}`).set('Authorization', `Bearer ${credential}`);
    expect(status.body).toEqual({ id: res.body.eventIds[0], type: 'user.suspended', status: 'pending' });
  });

  it('takes the credential under any case of the Bearer scheme', async () => {
    const res = await h.http.post('/v1/events').set('Authorization', `bearer ${credential}`).send({ type: 'user.logged_out_all', data: { userId: userId() } });
    expect(res.status).toBe(202);
  });

  it('refuses a body that tries to set the source or actor', async () => {
    const res = await post({ type: 'user.suspended', data: { userId: userId() }, source: 'api' });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('validation_failed');
  });

  it('accepts batches of up to 100, all or nothing, and answers ids in order', async () => {
    const events = Array.from({ length: 100 }, () => ({ type: 'user.logged_out_all', data: { userId: userId() } }));
    const ok = await post({ events });
    expect(ok.status).toBe(202);
    expect(new Set(ok.body.eventIds).size).toBe(100);
    expect((await post({ events: [...events, events[0]] })).status).toBe(400);
    const badOne = [{ type: 'user.logged_out_all', data: { userId: userId() } }, { type: 'user.logged_out_all', data: { userId: 'x' } }];
    const bad = await post({ events: badOne });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('validation_failed');
    const [row] = await h.deps.db.query<{ n: string }>("SELECT count(*) AS n FROM events WHERE data->>'userId' = :id", {
      type: QueryTypes.SELECT,
      replacements: { id: badOne[0]!.data.userId },
    });
    expect(Number(row!.n)).toBe(0);
  });

  it('returns the first event id for an idempotency key seen before, also inside one batch and in parallel', async () => {
    const key = `k-${randomUUID()}`;
    const first = await post({ type: 'session.revoked', data: { sessionId: randomUUID(), reason: 'x' }, idempotencyKey: key });
    const parallel = await Promise.all(
      Array.from({ length: 5 }, () => post({ type: 'session.revoked', data: { sessionId: randomUUID(), reason: 'x' }, idempotencyKey: key })),
    );
    for (const res of parallel) expect(res.body.eventIds).toEqual(first.body.eventIds);
    const key2 = `k-${randomUUID()}`;
    const batch = await post({ events: [1, 2].map(() => ({ type: 'user.reinstated', data: { userId: userId() }, idempotencyKey: key2 })) });
    expect(batch.body.eventIds[0]).toBe(batch.body.eventIds[1]);
    // The key is per source: another product backend may use the same key.
    const other = await serviceCredential(['events:write']);
    const theirs = await post({ type: 'session.revoked', data: { sessionId: randomUUID(), reason: 'x' }, idempotencyKey: key }, other.credential);
    expect(theirs.body.eventIds).not.toEqual(first.body.eventIds);
    // ...and cannot read ours.
    expect((await h.http.get(`/v1/events/${first.body.eventIds[0]}`).set('Authorization', `Bearer ${other.credential}`)).status).toBe(404);
  });

  it('two batches holding the same keys in opposite orders never deadlock: both answer 202 with the same ids', async () => {
    for (let round = 0; round < 8; round++) {
      const events = Array.from({ length: 40 }, (_, i) => ({ type: 'user.logged_out_all', data: { userId: userId() }, idempotencyKey: `dl-${randomUUID()}-${i}` }));
      const [forward, backward] = await Promise.all([post({ events }), post({ events: [...events].reverse() })]);
      expect([forward.status, backward.status]).toEqual([202, 202]);
      expect(new Set(forward.body.eventIds).size).toBe(40);
      // Each request gets the ids in its own order.
      expect([...backward.body.eventIds].reverse()).toEqual(forward.body.eventIds);
    }
  });

  it('refuses API-only types, unknown types and malformed data with validation_failed', async () => {
    for (const body of [
      { type: 'auth.login_succeeded', data: { userId: userId(), sessionId: userId() } },
      { type: 'user.deleted', data: { userId: userId() } },
      { type: 'membership.role_changed', data: { organizationId: userId(), userId: userId(), role: 'Bad Role!' } },
      { type: 'cache.rebuild_requested', data: { scope: 'user' } },
      { events: [] },
    ]) {
      const res = await post(body);
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('validation_failed');
    }
  });

  it('requires a live credential with the events:write scope', async () => {
    expect((await h.http.post('/v1/events').send({ type: 'user.suspended', data: { userId: userId() } })).body.code).toBe('invalid_token');
    const readOnly = await serviceCredential(['introspect']);
    const res = await post({ type: 'user.suspended', data: { userId: userId() } }, readOnly.credential);
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('forbidden');
    expect((await h.http.get(`/v1/events/${randomUUID()}`).set('Authorization', `Bearer ${credential}`)).status).toBe(404);
    expect((await h.http.get('/v1/events/not-a-uuid').set('Authorization', `Bearer ${credential}`)).status).toBe(404);
  });

  it('shows the outbox depth on /metrics', async () => {
    const res = await h.http.get('/metrics');
    expect(res.text).toMatch(/latchkey_outbox_pending_events \d+/);
    expect(res.text).toMatch(/latchkey_outbox_oldest_pending_seconds [\d.]+/);
  });
});
