import { randomUUID } from 'node:crypto';
import { QueryTypes } from 'sequelize';
import { verifyAuditChain } from '../../../shared/src/audit/audit-verify';
import { buildEvent } from '../../../shared/src/events/outbox';
import { JOB_OPTIONS } from '../../../shared/src/events/producer';
import { processJob } from '../../../workers/src/process-event';
import { signIn } from '../../support/browser-session';
import { auditRecords, mailsTo, postEvents, probe, serviceCredential, startRig, tokenVersion, waitFor, waitProcessed, type WorkerRig } from './worker-harness';

let rig: WorkerRig;
beforeAll(async () => {
  rig = await startRig({ REFRESH_GRACE_SECONDS: '0' });
});
afterAll(() => rig.close());

const jobState = async (id: string) => (await rig.h.deps.producer.queue.getJob(id))?.getState();

describe('delivery guarantees', () => {
  it('the same event delivered twice through the queue has one effect and one audit record', async () => {
    const { h } = rig;
    const s = await signIn(h);
    const before = await tokenVersion(h, s.userId);
    const event = buildEvent({ type: 'user.logged_out_all', source: 'service:test', actor: { type: 'service', id: 'test' }, data: { userId: s.userId } });
    await h.deps.producer.publish(event);
    await waitFor(async () => (await jobState(event.id)) === 'completed', 'first delivery');
    // Remove the finished job so the queue accepts the same id again: a genuine second delivery.
    await (await h.deps.producer.queue.getJob(event.id))!.remove();
    await h.deps.producer.publish(event);
    await waitFor(async () => (await jobState(event.id)) === 'completed', 'second delivery');
    // A job completes once its effects are in Redis; its audit record is chained (and the event
    // reads `processed`) by a drain that follows, not awaited by the job.
    await waitProcessed(h, [event.id]);
    expect(await tokenVersion(h, s.userId)).toBe(before + 1);
    expect(await auditRecords(h, event.id)).toHaveLength(1);
  });

  it('two concurrent deliveries of one event: one applies, the other is a duplicate', async () => {
    const { h, w } = rig;
    const s = await signIn(h);
    const before = await tokenVersion(h, s.userId);
    const event = buildEvent({ type: 'user.suspended', source: 'service:test', actor: { type: 'service', id: 'test' }, data: { userId: s.userId } });
    const job = { id: event.id, name: event.type, data: event, attemptsMade: 0, opts: { attempts: 3 }, timestamp: Date.now() };
    const outcomes = await Promise.all([processJob(job, w.ctx), processJob(job, w.ctx), processJob(job, w.ctx)]);
    await w.ctx.auditChain.flushed();
    expect(outcomes.sort()).toEqual(['applied', 'duplicate', 'duplicate']);
    expect(await tokenVersion(h, s.userId)).toBe(before + 1);
    expect(await auditRecords(h, event.id)).toHaveLength(1);
  });

  it('a malformed job fails once, without retries, leaving one event.rejected record and no secret', async () => {
    const { h } = rig;
    // In upper case: still a uuid, so the record names it; hashed as Postgres stores it.
    const jobId = randomUUID().toUpperCase();
    await h.deps.producer.queue.add('user.suspended', { id: jobId, type: 'user.suspended', data: { userId: 'nope', password: 'hunter2-secret' } }, { ...JOB_OPTIONS, jobId });
    await waitFor(async () => (await jobState(jobId)) === 'failed', 'malformed job failed');
    const job = (await h.deps.producer.queue.getJob(jobId))!;
    expect(job.attemptsMade).toBe(1);
    const records = await auditRecords(h, jobId);
    expect(records).toHaveLength(1);
    expect(records[0]!.type).toBe('event.rejected');
    expect(JSON.stringify(records[0])).not.toContain('hunter2');
    const [{ id }] = await h.deps.db.query<{ id: string }>('SELECT id::text AS id FROM audit_logs WHERE event_id = :jobId', { type: QueryTypes.SELECT, replacements: { jobId } });
    expect(await verifyAuditChain(h.deps.db, { fromId: id, toId: id })).toMatchObject({ ok: true });
  });

  it('API-emitted events: logout-all bumps once (not again in the worker); logins, failures and logouts are audited', async () => {
    const { h } = rig;
    const s = await signIn(h);
    const before = await tokenVersion(h, s.userId);
    await h.http.post('/auth/logout-all').set('Authorization', `Bearer ${s.accessToken}`).expect(204);
    await h.http.post('/auth/login').send({ email: s.email, password: 'wrong password entirely' }).expect(401);
    const t = await signIn(h, { email: s.email });
    await h.http.post('/auth/logout').set('Authorization', `Bearer ${t.accessToken}`).expect(204);
    const rows = await h.deps.db.query<{ id: string; type: string }>(
      `SELECT id, type FROM events WHERE source = 'api' AND (data->>'userId') = :userId`,
      { type: QueryTypes.SELECT, replacements: { userId: s.userId } },
    );
    expect(rows.map((r) => r.type).sort()).toEqual(['auth.login_failed', 'auth.login_succeeded', 'auth.login_succeeded', 'auth.logout', 'user.logged_out_all']);
    await waitProcessed(h, rows.map((r) => r.id));
    for (const r of rows) expect(await auditRecords(h, r.id)).toHaveLength(1);
    expect(await tokenVersion(h, s.userId)).toBe(before + 1);
  });

  it('refresh-token reuse detected by the API: refused at once, then a critical record and one notice', async () => {
    const { h } = rig;
    const s = await signIn(h);
    const oldCookie = s.jar.header();
    const rotated = await h.http.post('/auth/refresh').set('Cookie', oldCookie).set('X-CSRF-Token', s.csrf);
    expect(rotated.status).toBe(200);
    await new Promise((r) => setTimeout(r, 1100)); // past the 0 s grace window (second resolution)
    const reused = await h.http.post('/auth/refresh').set('Cookie', oldCookie).set('X-CSRF-Token', s.csrf);
    expect(reused.body.code).toBe('refresh_token_reused');
    expect(await probe(h, rotated.body.accessToken)).toEqual({ status: 401, code: 'session_revoked' });
    const [row] = await h.deps.db.query<{ id: string }>(`SELECT id FROM events WHERE type = 'refresh_token.reused' AND data->>'sessionId' = :sid`, {
      type: QueryTypes.SELECT,
      replacements: { sid: s.sessionId },
    });
    await waitProcessed(h, [row!.id]);
    expect((await auditRecords(h, row!.id))[0]).toMatchObject({ severity: 'critical' });
    await waitFor(async () => (await mailsTo(h, s.email)).some((m) => m.kind === 'session_reuse_revoked'), 'notice');
  });
});

describe('queue unreachable when events are posted', () => {
  it('answers 202 for every event and the relay gets them processed, one audit record each', async () => {
    // The API's Redis (and so its producer) points at a closed port; the worker uses the real Redis.
    const offline = await startRig({}, { apiRedisUrl: 'redis://127.0.0.1:1' });
    try {
      const { h } = offline;
      const users = await h.deps.db.query<{ id: string }>('SELECT id FROM users ORDER BY created_at DESC LIMIT 3', { type: QueryTypes.SELECT });
      expect(users.length).toBeGreaterThan(0);
      const { credential } = await serviceCredential();
      const ids: string[] = [];
      for (const u of users) {
        ids.push(...(await postEvents(h, credential, { events: [{ type: 'cache.rebuild_requested', data: { scope: 'user', id: u.id } }, { type: 'cache.rebuild_requested', data: { scope: 'all' } }] })));
      }
      const statuses = await waitProcessed(h, ids, 30_000);
      expect(Object.values(statuses).every((s) => s === 'processed')).toBe(true);
      for (const id of ids) expect(await auditRecords(h, id)).toHaveLength(1);
      // enqueued_at is only set by a relay (any worker on this database may have swept them).
      const relayed = await h.deps.db.query('SELECT 1 FROM events WHERE id IN (:ids) AND enqueued_at IS NOT NULL', {
        type: QueryTypes.SELECT,
        replacements: { ids },
      });
      expect(relayed).toHaveLength(ids.length);
    } finally {
      await offline.close();
    }
  });
});
