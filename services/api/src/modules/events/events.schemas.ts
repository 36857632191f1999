import { z } from 'zod';
import { PUBLIC_EVENT_TYPES } from '../../../../../shared/src/events/schemas';
import { instant } from '../../../../../shared/src/validation/storable';

/** At most this many events per `POST /v1/events`. */
export const MAX_BATCH = 100;

/**
 * One event as a product backend sends it. Only the outer shape is checked here; `data` is
 * validated against its type's schema with the full envelope (shared schema) in the service.
 */
export const incomingEvent = z.strictObject({
  type: z.enum(PUBLIC_EVENT_TYPES as [string, ...string[]]),
  data: z.record(z.string(), z.unknown()),
  idempotencyKey: z.string().min(1).max(200).optional(),
  occurredAt: instant.optional(),
});

export type IncomingEvent = z.output<typeof incomingEvent>;

/** `{...event}` or `{events: [...]}` with 1 to 100 events. */
export const postEventsBody = z.union([z.strictObject({ events: z.array(incomingEvent).min(1).max(MAX_BATCH) }), incomingEvent]);

export const eventIdParams = z.object({ id: z.guid() });
