import type { SecurityEvent } from '../../../../../shared/src/events/schemas';
import type { ApiDeps } from '../../deps';
import { perTurn } from '../../../../../shared/src/util/per-turn';

type Publisher = Pick<ApiDeps, 'producer' | 'logger'>;

/** Per producer, the events committed in this turn of the event loop, published at the next. */
const publishers = new WeakMap<ApiDeps['producer'], (...events: SecurityEvent[]) => Promise<void>>();

/**
 * Enqueues events whose outbox rows just committed. Events committed by requests in the same turn
 * of the event loop go in one `addBulk` (one Redis round trip under load instead of one per
 * request). Best effort by design: if Redis is down the rows stay pending and the worker's outbox
 * relay enqueues them later (no event is ever lost).
 */
export function publishAfterCommit(deps: Publisher, events: SecurityEvent[]): void {
  if (events.length === 0) return;
  let publish = publishers.get(deps.producer);
  if (!publish) publishers.set(deps.producer, (publish = perTurn((batch: SecurityEvent[]) => deps.producer.publish(batch))));
  publish(...events).catch((err: unknown) => {
    deps.logger.warn({ err: String(err), eventIds: events.map((e) => e.id) }, 'enqueue failed; the outbox relay will retry');
  });
}
