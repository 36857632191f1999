import type { SecurityEvent } from '../../../../../shared/src/events/schemas';
import type { ApiDeps } from '../../deps';

/**
 * Enqueues events whose outbox rows just committed. Best effort by design: if Redis is down the
 * rows stay pending and the worker's outbox relay enqueues them later (no event is ever lost).
 */
export function publishAfterCommit(deps: Pick<ApiDeps, 'producer' | 'logger'>, events: SecurityEvent[]): void {
  if (events.length === 0) return;
  deps.producer.publish(events).catch((err: unknown) => {
    deps.logger.warn({ err: String(err), eventIds: events.map((e) => e.id) }, 'enqueue failed; the outbox relay will retry');
  });
}
