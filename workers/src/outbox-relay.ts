import { QueryTypes, type Sequelize } from 'sequelize';
import type { EventProducer } from '../../shared/src/events/producer';
import { parseEvent, type SecurityEvent } from '../../shared/src/events/schemas';
import type { Logger } from '../../shared/src/logging/logger';
import { markRejected } from './event-rows';

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
 * Redis that restarted empty). An event a delivery has claimed (`processed_at` set, its record
 * waiting to be chained) reached a worker already and is left alone. Returns how many events were
 * enqueued.
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
    } catch {
      await markRejected(db, row.id, 'validation_failed: stored event does not match its schema');
    }
  }
  try {
    await producer.publish(events);
  } catch (err) {
    await db.query('UPDATE events SET enqueued_at = NULL WHERE id IN (:ids)', { replacements: { ids: events.map((e) => e.id) } });
    throw err;
  }
  logger.info({ count: events.length }, 'outbox relay enqueued pending events');
  return events.length;
}
