import type { SecurityEvent } from '../../../../../shared/src/events/schemas';
import type { ApiDeps } from '../../deps';

type Publisher = Pick<ApiDeps, 'producer' | 'logger'>;

/** Events waiting for this turn of the event loop to end, per producer. */
const waiting = new WeakMap<ApiDeps['producer'], SecurityEvent[]>();

/**
 * Enqueues events whose outbox rows just committed. Events committed by requests in the same turn
 * of the event loop go in one `addBulk` (one Redis round trip under load instead of one per
 * request). Best effort by design: if Redis is down the rows stay pending and the worker's outbox
 * relay enqueues them later (no event is ever lost).
 */
export function publishAfterCommit(deps: Publisher, events: SecurityEvent[]): void {
  if (events.length === 0) return;
  const batch = waiting.get(deps.producer);
  if (batch) {
    batch.push(...events);
    return;
  }
  const started = [...events];
  waiting.set(deps.producer, started);
  setImmediate(() => {
    waiting.delete(deps.producer);
    deps.producer.publish(started).catch((err: unknown) => {
      deps.logger.warn({ err: String(err), eventIds: started.map((e) => e.id) }, 'enqueue failed; the outbox relay will retry');
    });
  });
}
