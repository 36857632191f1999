import { QueryTypes, type Sequelize, type Transaction } from 'sequelize';
import { insertOutboxEvent } from '../../shared/src/events/outbox';
import type { SecurityEvent } from '../../shared/src/events/schemas';

/**
 * Marks an event processed. Events a product backend published straight into the queue (typed
 * producer, no HTTP) have no outbox row yet: one is written, so `GET /v1/events/:id` and the
 * relay see every event the same way. Returns when the row was first stored (for the lag metric).
 */
export async function markProcessed(db: Sequelize, t: Transaction, event: SecurityEvent): Promise<Date | undefined> {
  const [row] = await db.query<{ created_at: Date }>(
    `UPDATE events SET status = 'processed', processed_at = now(), error = NULL WHERE id = :id RETURNING created_at`,
    { type: QueryTypes.SELECT, transaction: t, replacements: { id: event.id } },
  );
  if (row) return row.created_at;
  // Savepoint: a clash on (source, idempotency_key) must not abort the surrounding transaction.
  await db.transaction({ transaction: t }, async (sp) => {
    await insertOutboxEvent(db, sp, event);
    await db.query(`UPDATE events SET status = 'processed', processed_at = now() WHERE id = :id`, { transaction: sp, replacements: { id: event.id } });
  }).catch(() => undefined);
  return undefined;
}

/** Records a failure on the event's row: `failed` when final, otherwise the row stays pending. */
export async function markFailure(db: Sequelize, eventId: string, error: string, final: boolean, t?: Transaction): Promise<void> {
  await db.query(
    `UPDATE events SET error = :error, status = CASE WHEN :final THEN 'failed' ELSE status END
     WHERE id = :id AND status <> 'processed'`,
    { transaction: t, replacements: { id: eventId, error: error.slice(0, 500), final } },
  );
}
