import type { Migration } from '../shared/src/db/migrator';

/**
 * Events a delivery failed transiently are still open, as pending ones are (events_pending_idx):
 * an API catching up after a lost Redis connection reads both (shared/src/verify/outage-catch-up.ts),
 * and with this index neither read scans the events table.
 */
export const up: Migration = async ({ context: sql }) => {
  await sql.query(
    "CREATE INDEX IF NOT EXISTS events_transient_failed_idx ON events (created_at) WHERE status = 'failed' AND error = 'internal_error: processing failed';",
  );
};

export const down: Migration = async ({ context: sql }) => {
  await sql.query('DROP INDEX IF EXISTS events_transient_failed_idx;');
};
