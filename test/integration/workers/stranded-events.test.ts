import { UnrecoverableError, Worker } from 'bullmq';
import { QueryTypes } from 'sequelize';
import { verifyAuditChain } from '../../../shared/src/audit/audit-verify';
import { buildEvent, insertOutboxEvent } from '../../../shared/src/events/outbox';
import { JOB_OPTIONS, SECURITY_EVENTS_QUEUE } from '../../../shared/src/events/producer';
import type { SecurityEvent } from '../../../shared/src/events/schemas';
import { createLogger } from '../../../shared/src/logging/logger';
import { createRedis } from '../../../shared/src/redis/client';
import { EXHAUSTED_FAILURE, TRANSIENT_FAILURE } from '../../../workers/src/event-rows';
import type { EventHandler } from '../../../workers/src/handler';
import { retryFailedJobs } from '../../../workers/src/outbox-relay';
import { processJob } from '../../../workers/src/process-event';
import { HANDLERS } from '../../../workers/src/registry';
import { startWorker, type RunningWorker } from '../../../workers/src/worker';
import { signIn } from '../../support/browser-session';
import { startHarness, type Harness } from '../../support/harness';
import { createOwnDatabase } from '../../support/own-database';
import { auditRecords, FAST_WORKER_ENV, jobOf, tokenVersion, waitFor, waitProcessed } from './worker-harness';

/**
 * Events that BullMQ gave up on must still end with exactly one audit record. A database of its own:
 * no other test file's relay may take these rows into its own queue and process them there.
 */
let own: Awaited<ReturnType<typeof createOwnDatabase>>;
let h: Harness;
beforeAll(async () => {
  own = await createOwnDatabase('stranded');
  h = await startHarness({ DATABASE_URL: own.url, ...FAST_WORKER_ENV });
});
afterAll(async () => {
  await h.close();
  await own.drop().catch(() => undefined);
});

const logger = createLogger({ level: 'silent', service: 'test-worker' });
const startRealWorker = (registry = HANDLERS) => startWorker(h.config, { logger, relayIntervalMs: 200, registry });
const jobState = (id: string) => h.deps.producer.queue.getJobState(id);
const source = { source: 'service:test', actor: { type: 'service', id: 'test' } } as const;

async function eventRow(id: string) {
  const [row] = await h.deps.db.query<{ status: string; error: string | null }>('SELECT status, error FROM events WHERE id = :id', {
    type: QueryTypes.SELECT,
    replacements: { id },
  });
  return row;
}

/**
 * What a worker leaves when Postgres is down at a job's last attempt (or the job stalled more than
 * maxStalledCount times): BullMQ has failed the job for good, and its row is still pending. A
 * worker of the test fails every queued job at once, touching nothing in Postgres.
 */
async function failQueuedJobs(ids: string[]): Promise<void> {
  const connection = createRedis(h.config.redisUrl, 'worker');
  const failing = new Worker(
    SECURITY_EVENTS_QUEUE,
    async () => {
      throw new UnrecoverableError('simulated: Postgres down at the last attempt');
    },
    { connection, prefix: h.config.queuePrefix },
  );
  try {
    await waitFor(async () => (await Promise.all(ids.map(jobState))).every((s) => s === 'failed'), 'jobs failed');
  } finally {
    await failing.close();
    connection.disconnect();
  }
}

/** Every event of this database has left `pending` and has exactly one audit record. */
async function expectNothingStranded(): Promise<void> {
  const ids = (await h.deps.db.query<{ id: string }>('SELECT id FROM events', { type: QueryTypes.SELECT })).map((r) => r.id);
  await waitProcessed(h, ids);
  const records = await h.deps.db.query<{ event_id: string; n: number }>(
    'SELECT e.id AS event_id, count(a.id)::int AS n FROM events e LEFT JOIN audit_logs a ON a.event_id = e.id GROUP BY e.id',
    { type: QueryTypes.SELECT },
  );
  expect(records.filter((r) => r.n !== 1)).toEqual([]);
  expect(await verifyAuditChain(h.deps.db)).toMatchObject({ ok: true });
}

/** A signed-in user's logout-all, stored and enqueued, whose job BullMQ then failed for good. */
async function logoutAllWithFailedJob() {
  const s = await signIn(h);
  const before = await tokenVersion(h, s.userId);
  const event = buildEvent({ type: 'user.logged_out_all', ...source, data: { userId: s.userId } });
  await h.deps.db.transaction((t) => insertOutboxEvent(h.deps.db, t, event));
  await h.deps.producer.publish(event);
  await failQueuedJobs([event.id]);
  return { s, before, event };
}

describe('a job BullMQ failed while its event row is still pending', () => {
  let w: RunningWorker | undefined;
  afterEach(async () => {
    await w?.close();
    w = undefined;
  });

  it('is retried by the outbox relay: applied once, one audit record', async () => {
    const { s, before, event } = await logoutAllWithFailedJob();
    expect((await eventRow(event.id))!.status).toBe('pending');

    // The relay of a real worker finds the row pending; its job id is still taken by the failed job.
    w = await startRealWorker();
    expect((await waitProcessed(h, [event.id]))[event.id]).toBe('processed');
    expect((await auditRecords(h, event.id)).map((r) => r.type)).toEqual(['user.logged_out_all']);
    expect(await tokenVersion(h, s.userId)).toBe(before + 1);
    expect(await jobState(event.id)).toBe('completed');
    // The sign-in's own events were failed the same way: none is left behind.
    await expectNothingStranded();
  });

  it('several relays retrying it at once move it once, and it is applied once', async () => {
    const { s, before, event } = await logoutAllWithFailedJob();

    const queue = h.deps.producer.queue;
    const moved = await Promise.all([retryFailedJobs(queue, [event.id]), retryFailedJobs(queue, [event.id]), retryFailedJobs(queue, [event.id])]);
    expect(moved.reduce((a, b) => a + b, 0)).toBe(1);
    expect(await jobState(event.id)).toBe('waiting');
    const job = (await queue.getJob(event.id))!;
    expect(job.attemptsMade).toBe(0);

    w = await startRealWorker();
    expect((await waitProcessed(h, [event.id]))[event.id]).toBe('processed');
    expect(await auditRecords(h, event.id)).toHaveLength(1);
    expect(await tokenVersion(h, s.userId)).toBe(before + 1);
    await expectNothingStranded();
  });
});

describe('an event whose every attempt fails transiently', () => {
  it('ends failed with exactly one event.rejected record, critical for a revocation; a later delivery adds none', async () => {
    const s = await signIn(h);
    const before = await tokenVersion(h, s.userId);
    const outage: EventHandler<'user.suspended'> = {
      async apply() {
        throw new Error('simulated outage');
      },
      sync: HANDLERS['user.suspended'].sync,
    };
    const w = await startRealWorker({ ...HANDLERS, 'user.suspended': outage });
    try {
      // One stored through the outbox (as the API does), one published straight into the queue
      // (as a product backend may with the kit's producer: no row until a worker writes one).
      const stored = buildEvent({ type: 'user.suspended', ...source, data: { userId: s.userId, reason: 'stored' } });
      const straight = buildEvent({ type: 'user.suspended', ...source, data: { userId: s.userId, reason: 'straight' } });
      await h.deps.db.transaction((t) => insertOutboxEvent(h.deps.db, t, stored));
      // Three quick attempts: the job's own options, as BullMQ reads them.
      const opts = { ...JOB_OPTIONS, attempts: 3, backoff: { type: 'fixed', delay: 50 } };
      await h.deps.producer.queue.addBulk([stored, straight].map((e: SecurityEvent) => ({ name: e.type, data: e, opts: { ...opts, jobId: e.id } })));
      await waitFor(async () => (await jobState(stored.id)) === 'failed' && (await jobState(straight.id)) === 'failed', 'jobs failed');
      expect((await h.deps.producer.queue.getJob(stored.id))!.attemptsMade).toBe(3);

      for (const event of [stored, straight]) {
        const records = await auditRecords(h, event.id);
        expect(records).toEqual([
          expect.objectContaining({
            type: 'event.rejected',
            severity: 'critical',
            user_id: s.userId,
            details: { eventType: 'user.suspended', source: 'service:test', error: EXHAUSTED_FAILURE, attempts: 3, lastError: 'Error' },
          }),
        ]);
        expect(await eventRow(event.id)).toEqual({ status: 'failed', error: EXHAUSTED_FAILURE });
        // Delivered again, now that the handler would work: not applied, no second record.
        expect(await processJob(jobOf(event), w.ctx)).toBe('duplicate');
        expect(await auditRecords(h, event.id)).toHaveLength(1);
      }
      expect(await tokenVersion(h, s.userId)).toBe(before);
      await expectNothingStranded();
    } finally {
      await w.close();
    }
  });

  it('stays pending, for the relay, when what failed every attempt was a dependency being down', async () => {
    const s = await signIn(h);
    const down: EventHandler<'user.suspended'> = {
      async apply() {
        throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
      },
      sync: HANDLERS['user.suspended'].sync,
    };
    const w = await startRealWorker({ ...HANDLERS, 'user.suspended': down });
    try {
      const event = buildEvent({ type: 'user.suspended', ...source, data: { userId: s.userId } });
      await h.deps.db.transaction((t) => insertOutboxEvent(h.deps.db, t, event));
      const opts = { ...JOB_OPTIONS, attempts: 2, backoff: { type: 'fixed', delay: 50 } };
      await h.deps.producer.queue.add(event.type, event, { ...opts, jobId: event.id });
      await waitFor(async () => (await jobState(event.id)) === 'failed', 'job failed');
      expect(await auditRecords(h, event.id)).toHaveLength(0);
      expect(await eventRow(event.id)).toEqual({ status: 'pending', error: TRANSIENT_FAILURE });
    } finally {
      await w.close();
    }
  });
});
