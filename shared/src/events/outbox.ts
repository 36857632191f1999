import { randomUUID } from 'node:crypto';
import { QueryTypes, type Sequelize, type Transaction } from 'sequelize';
import { parseEvent, type EventType, type SecurityEvent, type EventOf } from './schemas';

/** What the caller knows of an event; the id, version and time are filled in here. */
/**
 * The `error` of an event a delivery failed transiently: such an event is still open (its retried
 * job, or the relay, applies it later), as a `pending` one is.
 */
export const TRANSIENT_FAILURE = 'internal_error: processing failed';

export type NewEvent<T extends EventType = EventType> = Omit<EventOf<T>, 'id' | 'version' | 'occurredAt'> & {
  occurredAt?: string;
};

/** Builds a complete, validated envelope. */
export function buildEvent<T extends EventType>(input: NewEvent<T>): EventOf<T> {
  return parseEvent({ ...input, id: randomUUID(), version: 1, occurredAt: input.occurredAt ?? new Date().toISOString() }) as EventOf<T>;
}

/**
 * Writes the event row inside the caller's transaction (the transactional outbox). The row is the
 * durable promise that the event will be processed; it is enqueued after commit, and the worker's
 * relay enqueues any row that never made it. Returns false, writing nothing, when the source
 * already stored an event with the same idempotency key.
 */
export async function insertOutboxEvent(db: Sequelize, transaction: Transaction, event: SecurityEvent): Promise<boolean> {
  const inserted = await db.query(
    `INSERT INTO events (id, type, version, occurred_at, source, actor_type, actor_id, request_id, idempotency_key, ip, user_agent, data)
     VALUES (:id, :type, 1, :occurredAt, :source, :actorType, :actorId, :requestId, :idempotencyKey, :ip, :userAgent, :data)
     ON CONFLICT (source, idempotency_key) DO NOTHING RETURNING id`,
    {
      type: QueryTypes.SELECT,
      transaction,
      replacements: {
        id: event.id,
        type: event.type,
        occurredAt: event.occurredAt,
        source: event.source,
        actorType: event.actor.type,
        actorId: event.actor.id,
        requestId: event.requestId ?? null,
        idempotencyKey: event.idempotencyKey ?? null,
        ip: event.ip ?? null,
        userAgent: event.userAgent ?? null,
        data: JSON.stringify(event.data),
      },
    },
  );
  return inserted.length === 1;
}
