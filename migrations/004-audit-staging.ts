import type { Migration } from '../shared/src/db/migrator';

/**
 * Batched audit appends. An event's transaction no longer extends the chain itself (that held the
 * one chain lock, and a commit fsync, per event): it stages its audit record in `audit_staged`,
 * and an appender moves staged records into the chain in batches, under the chain lock, in one
 * transaction per batch (shared/src/audit/audit-writer.ts `appendStagedRecords`).
 * - A staged row is only ever inserted (by the event's transaction) and deleted (by the batch that
 *   chains it); UPDATE and TRUNCATE are refused.
 * - `event_id` is unique here as it is in the chain: an event has at most one record in flight.
 */
export const up: Migration = async ({ context: sql }) => {
  await sql.query(`
    CREATE TABLE audit_staged (
      seq bigserial PRIMARY KEY,
      event_id uuid UNIQUE,
      record jsonb NOT NULL,
      staged_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE TRIGGER audit_staged_no_update BEFORE UPDATE ON audit_staged
      FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
    CREATE TRIGGER audit_staged_no_truncate BEFORE TRUNCATE ON audit_staged
      FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
  `);
};

export const down: Migration = async ({ context: sql }) => {
  // Staged records are audit records not yet chained: refuse to drop them.
  await sql.query(`
    DO $$ BEGIN
      IF EXISTS (SELECT 1 FROM audit_staged) THEN
        RAISE EXCEPTION 'audit_staged holds records not yet chained: run a worker until it is empty, then migrate down';
      END IF;
    END $$;
    DROP TABLE audit_staged;
  `);
};
