import { ErrorCode, type Queue } from 'bullmq';
import { QueryTypes, type Sequelize } from 'sequelize';
import type { EventProducer } from '../../shared/src/events/producer';
import { parseEvent, type SecurityEvent } from '../../shared/src/events/schemas';
import type { Logger } from '../../shared/src/logging/logger';
import { rejectMalformed } from './event-rejections';

/** Seconds before an event the relay enqueued is enqueued again if still pending (Redis lost it). */
const REENQUEUE_AFTER_SECONDS = 30;
const BATCH = 500;

interface EventRow {
  id: string;
  type: string;
  version: number;
  occurred_at: Date;
  source: string;
  actor_type: string;
  actor_id: string;
  request_id: string | null;
  idempotency_key: string | null;
  ip: string | null;
  user_agent: string | null;
  data: unknown;
  created_at: Date;
}

/** Rebuilds the envelope from its outbox row. */
export function eventOfRow(r: EventRow): unknown {
  return {
    id: r.id,
    type: r.type,
    version: r.version,
    occurredAt: r.occurred_at.toISOString(),
    source: r.source,
    actor: { type: r.actor_type, id: r.actor_id },
    ...(r.request_id ? { requestId: r.request_id } : {}),
    ...(r.idempotency_key ? { idempotencyKey: r.idempotency_key } : {}),
    ...(r.ip ? { ip: r.ip } : {}),
    ...(r.user_agent ? { userAgent: r.user_agent } : {}),
    data: r.data,
  };
}

/**
 * The outbox relay: enqueues events still pending a few seconds after they were stored (Redis was
 * down, or the API died between commit and enqueue), oldest first. Job id = event id, so a row
 * whose job is already queued is a no-op; rows are claimed with SKIP LOCKED so several worker
 * processes share the work. Rows it enqueued are retried after REENQUEUE_AFTER_SECONDS (for a
 * Redis that restarted empty). A row whose job BullMQ has already failed for good (Postgres was
 * down at its last attempt, or it stalled too often) is not re-added by that id, which still sits
 * in the failed set: that job is retried (`retryFailedJobs`). An event a delivery has claimed
 * (`processed_at` set, its record waiting to be chained) reached a worker already and is left
 * alone. A stored row that no longer matches the schema is rejected with its one `event.rejected`
 * record. Returns how many events were enqueued.
 */
export async function relayPendingEvents(db: Sequelize, producer: EventProducer, logger: Logger, delaySeconds: number): Promise<number> {
  const rows = await db.query<EventRow>(
    `WITH picked AS (
       SELECT id FROM events
       WHERE status = 'pending' AND processed_at IS NULL AND created_at < now() - make_interval(secs => :delay)
         AND (enqueued_at IS NULL OR enqueued_at < now() - make_interval(secs => :again))
       ORDER BY created_at LIMIT :limit FOR UPDATE SKIP LOCKED)
     UPDATE events e SET enqueued_at = now() FROM picked WHERE e.id = picked.id
     RETURNING e.id, e.type, e.version, e.occurred_at, e.source, e.actor_type, e.actor_id, e.request_id,
       e.idempotency_key, e.ip, e.user_agent, e.data, e.created_at`,
    { type: QueryTypes.SELECT, replacements: { delay: delaySeconds, again: REENQUEUE_AFTER_SECONDS, limit: BATCH } },
  );
  if (rows.length === 0) return 0;
  rows.sort((a, b) => a.created_at.getTime() - b.created_at.getTime());
  const events: SecurityEvent[] = [];
  for (const row of rows) {
    try {
      events.push(parseEvent(eventOfRow(row)));
    } catch (err) {
      await rejectMalformed(db, logger, { id: row.id, name: row.type }, err);
    }
  }
  if (events.length === 0) return 0;
  let retried: number;
  try {
    await producer.publish(events);
    retried = await retryFailedJobs(producer.queue, events.map((e) => e.id));
  } catch (err) {
    await db.query('UPDATE events SET enqueued_at = NULL WHERE id IN (:ids)', { replacements: { ids: events.map((e) => e.id) } });
    throw err;
  }
  logger.info({ count: events.length, retried }, 'outbox relay enqueued pending events');
  return events.length;
}

/**
 * Moves the jobs of `ids` that sit in BullMQ's failed set back to waiting, with a new round of
 * attempts; the caller knows their events are still pending, so BullMQ gave up on them before
 * they were processed. Only BullMQ's own commands are used (a ZSCORE of the failed set per id,
 * sent together; its retry script), on the queue's keys, which share the queue prefix's hash tag:
 * one Redis Cluster slot. The retry is atomic and moves a job only if it is still in the failed
 * set: when several relays (or an operator) retry the same job at once, one moves it and the
 * others find it gone or no longer failed, which is fine.
 * A job that failed by stalling keeps its stall count, so one more stall fails it again and a
 * later sweep retries it again. Returns how many jobs this call moved.
 */
export async function retryFailedJobs(queue: Queue, ids: string[]): Promise<number> {
  const backend = queue.getBackend();
  const moved = await Promise.all(
    ids.map(async (id) => {
      if (!(await backend.isJobInState('failed', id))) return false;
      const job = await queue.getJob(id);
      if (!job) return false;
      try {
        await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
        return true;
      } catch (err) {
        // Gone (removed) or no longer failed (another relay moved it first): nothing to do.
        const code = (err as { code?: unknown }).code;
        if (code === ErrorCode.JobNotExist || code === ErrorCode.JobNotInState) return false;
        throw err;
      }
    }),
  );
  return moved.filter(Boolean).length;
}
