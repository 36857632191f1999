import { ChainAppender } from '../../shared/src/audit/chain-appender';
import { QueryTypes, UniqueConstraintError, type Sequelize, type Transaction } from 'sequelize';
import { rawQueryIn } from '../../shared/src/db/raw-connection';
import { insertOutboxEvent, TRANSIENT_FAILURE } from '../../shared/src/events/outbox';
import type { SecurityEvent } from '../../shared/src/events/schemas';

export { TRANSIENT_FAILURE };

/**
 * The error of an event whose every attempt failed transiently: it is failed for good, with its
 * `event.rejected` record (event-rejections.ts), and no later delivery applies it.
 */
export const EXHAUSTED_FAILURE = 'internal_error: processing failed; retries exhausted';

/**
 * Rows a delivery may still act on: not claimed yet (`processed_at` is set by the claim), and
 * pending or failed only transiently (never rejected).
 */
const OPEN = `(processed_at IS NULL AND (status = 'pending' OR error = :transient))`;

/** A delivery's claim on its event: the one that sets `processed_at` applies it. */
export type Claim = { claimed: true; storedAt?: Date } | { claimed: false };

/**
 * Claims the event inside the delivery's transaction, before anything is applied: `processed_at`
 * is set (the status becomes `processed` once the audit record is in the chain, see
 * `eventChainAppender`; until then the event reads as pending). A concurrent delivery of the same
 * event waits on the row lock and, once the first commits, finds it claimed (a duplicate); if the
 * first rolls back, it claims.
 * Events a product backend published straight into the queue (typed producer, no HTTP) have no
 * row yet: one is written, already claimed, so `GET /v1/events/:id` and the relay see every
 * event the same way; a concurrent delivery's insert of the same id then fails (a duplicate), as
 * does a second event with an idempotency key the source already used. Returns when the row was
 * first stored (for the lag metric).
 */
export async function claimEvent(db: Sequelize, t: Transaction, event: SecurityEvent): Promise<Claim> {
  const claim = (await claimEvents(db, t, [event.id])).get(event.id)!;
  if (claim !== 'unknown') return claim;
  try {
    // Savepoint: a failed insert must not abort the surrounding transaction.
    const inserted = await db.transaction({ transaction: t }, async (sp) => {
      if (!(await insertOutboxEvent(db, sp, event))) return false;
      await db.query(`UPDATE events SET processed_at = now() WHERE id = :id`, { transaction: sp, replacements: { id: event.id } });
      return true;
    });
    return inserted ? { claimed: true } : { claimed: false };
  } catch (err) {
    if (err instanceof UniqueConstraintError) return { claimed: false };
    throw err;
  }
}

/**
 * Claims several events in one statement (see `claimEvent`): for each id, its claim, or `unknown`
 * when it has no row yet (the caller claims those one by one, by `claimEvent`).
 */
export async function claimEvents(db: Sequelize, t: Transaction, eventIds: string[]): Promise<Map<string, Claim | 'unknown'>> {
  const rows = await rawQueryIn<{ n: string; stored_at: Date | null; known: boolean }>(db, t, {
    name: 'lk_event_claim',
    text: `WITH claimed AS (
       UPDATE events SET status = 'pending', processed_at = now(), error = NULL
       WHERE id = ANY($1::uuid[]) AND ${OPEN.replace(':transient', '$2::text')} RETURNING id, created_at)
     SELECT i.n, c.created_at AS stored_at, e.id IS NOT NULL AS known
     FROM unnest($1::uuid[]) WITH ORDINALITY AS i(id, n) LEFT JOIN claimed c ON c.id = i.id LEFT JOIN events e ON e.id = i.id`,
    values: [eventIds, TRANSIENT_FAILURE],
  });
  // Keyed by the ids as given (a uuid may arrive in upper case; Postgres answers in lower case).
  return new Map(
    rows.map((r): [string, Claim | 'unknown'] => [
      eventIds[Number(r.n) - 1]!,
      r.stored_at ? { claimed: true, storedAt: r.stored_at } : r.known ? { claimed: false } : 'unknown',
    ]),
  );
}

/**
 * Links the audit records events stage into the chain; in the same transaction, those events
 * become `processed` (so a processed event always has its audit record).
 */
export function eventChainAppender(db: Sequelize): ChainAppender {
  return new ChainAppender(db, (eventIds) => `UPDATE events SET status = 'processed' WHERE id = ANY(${eventIds})`);
}

/**
 * A transient failure: the row notes it and stays open (pending). After the last attempt the event
 * is rejected instead (`rejectExhausted`); only when that cannot be written either (Postgres down)
 * does the row stay pending with no attempt left, and the outbox relay gives it a new round.
 */
export async function markFailure(db: Sequelize, eventId: string): Promise<void> {
  await db.query(`UPDATE events SET error = :transient WHERE id = :id AND ${OPEN}`, {
    replacements: { id: eventId, transient: TRANSIENT_FAILURE },
  });
}

/**
 * A permanent refusal (malformed, or refused by its handler): the row becomes failed with the
 * reason, under the same row lock as a claim. Returns false when the event was processed or
 * rejected already (its one audit record belongs to that outcome), true otherwise. A valid event
 * without a row (published straight into the queue) gets one, failed, so that no later delivery
 * can claim it; a malformed job has no event to store and returns true.
 */
export async function markRejected(db: Sequelize, eventId: string, error: string, t?: Transaction, event?: SecurityEvent): Promise<boolean> {
  const mark = async () => {
    const [row] = await db.query<{ marked: boolean; known: boolean }>(
      `WITH marked AS (UPDATE events SET status = 'failed', error = :error WHERE id = :id AND ${OPEN} RETURNING 1)
       SELECT EXISTS (SELECT 1 FROM marked) AS marked, EXISTS (SELECT 1 FROM events WHERE id = :id) AS known`,
      { type: QueryTypes.SELECT, transaction: t, replacements: { id: eventId, error: error.slice(0, 500), transient: TRANSIENT_FAILURE } },
    );
    return row!;
  };
  const first = await mark();
  if (first.marked || first.known) return first.marked;
  if (!event) return true;
  try {
    const stored = await db.transaction({ transaction: t }, (sp) => insertOutboxEvent(db, sp, event));
    // Not stored: the source already used its idempotency key for another event (a duplicate).
    if (!stored) return false;
  } catch (err) {
    // A concurrent delivery stored it first: decide on that row.
    if (!(err instanceof UniqueConstraintError)) throw err;
  }
  return (await mark()).marked;
}
