import { QueryTypes, type Transaction } from 'sequelize';
import { retryingDeadlocks } from '../../../../../shared/src/db/deadlock-retry';
import { AppError } from '../../../../../shared/src/errors/app-error';
import { buildEvent } from '../../../../../shared/src/events/outbox';
import type { SecurityEvent } from '../../../../../shared/src/events/schemas';
import { insertOutboxEvent } from '../../../../../shared/src/events/outbox';
import type { ApiDeps } from '../../deps';
import type { ServicePrincipal } from '../../http/authenticate-service';
import { publishAfterCommit } from './publish-after-commit';
import type { IncomingEvent } from './events.schemas';

/** What `GET /v1/events/:id` shows of an event. */
export interface EventStatusView {
  id: string;
  type: string;
  status: 'pending' | 'processed' | 'failed';
  processedAt?: string;
  error?: string;
}

/** The `source` of events a product backend sends: never `api`, which only the API itself uses. */
export function sourceOf(service: ServicePrincipal): string {
  return `service:${service.name}`;
}

/**
 * The product-backend entry to the event pipeline. Events are validated with the shared schema,
 * stored in the outbox in one transaction (all or none), and only then acknowledged; enqueueing
 * follows the commit and the worker's relay covers a failed enqueue. An idempotency key is unique
 * per source: a key seen before (also earlier in the same batch) answers the first event's id.
 */
export class EventsService {
  constructor(private readonly deps: ApiDeps) {}

  async accept(service: ServicePrincipal, inputs: IncomingEvent[], requestId: string): Promise<string[]> {
    const source = sourceOf(service);
    const events = inputs.map((input, index) => {
      try {
        return buildEvent({
          type: input.type,
          data: input.data,
          source,
          actor: { type: 'service', id: service.id },
          requestId,
          ...(input.idempotencyKey ? { idempotencyKey: input.idempotencyKey } : {}),
          ...(input.occurredAt ? { occurredAt: input.occurredAt } : {}),
        } as never) as SecurityEvent;
      } catch (err) {
        const paths = (err as { issues?: Array<{ path: PropertyKey[] }> }).issues?.map((i) => i.path.map(String).join('.')) ?? [];
        throw new AppError('validation_failed', { publicDetail: `Invalid event ${index}: ${[...new Set(paths)].join(', ') || 'shape'}` });
      }
    });
    // Inserted in key order: each insert of a key waits for a concurrent transaction holding it,
    // so two batches taking the same keys in opposite orders would deadlock (40P01). In one
    // canonical order they queue up instead. The sort is stable: of one key repeated in a batch,
    // the first in request order still wins. A deadlock from anywhere else is retried whole.
    const order = events.map((_, i) => i).sort((a, b) => compareKeys(events[a]!.idempotencyKey, events[b]!.idempotencyKey));
    const ids = await retryingDeadlocks(() =>
      this.deps.db.transaction(async (t) => {
        const out: string[] = new Array(events.length);
        for (const i of order) out[i] = await this.store(t, events[i]!);
        return out;
      }),
    );
    // Enqueued in request order (one user's events keep the order they were sent in).
    publishAfterCommit(this.deps, events.filter((event, i) => ids[i] === event.id));
    return ids;
  }

  async status(service: ServicePrincipal, id: string): Promise<EventStatusView> {
    const [row] = await this.deps.db.query<{ id: string; type: string; status: EventStatusView['status']; processed_at: Date | null; error: string | null }>(
      'SELECT id, type, status, processed_at, error FROM events WHERE id = :id AND source = :source',
      { type: QueryTypes.SELECT, replacements: { id, source: sourceOf(service) } },
    );
    if (!row) throw new AppError('not_found');
    return {
      id: row.id,
      type: row.type,
      status: row.status,
      ...(row.status === 'processed' && row.processed_at ? { processedAt: row.processed_at.toISOString() } : {}),
      ...(row.error ? { error: row.error } : {}),
    };
  }

  /** Inserts the outbox row; with an idempotency key already used by this source, returns that event's id. */
  private async store(t: Transaction, event: SecurityEvent): Promise<string> {
    if (await insertOutboxEvent(this.deps.db, t, event)) return event.id;
    const [first] = await this.deps.db.query<{ id: string }>('SELECT id FROM events WHERE source = :source AND idempotency_key = :key', {
      type: QueryTypes.SELECT,
      transaction: t,
      replacements: { source: event.source, key: event.idempotencyKey ?? null },
    });
    if (!first) throw new AppError('conflict', { detail: 'idempotency key conflict without a stored event' });
    return first.id;
  }
}

/** A total order of idempotency keys, the same in every request (events without a key go first). */
function compareKeys(a: string | undefined, b: string | undefined): number {
  if (a === b) return 0;
  if (a === undefined) return -1;
  if (b === undefined) return 1;
  return a < b ? -1 : 1;
}
