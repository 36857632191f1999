import type { Migration } from '../shared/src/db/migrator';

/**
 * An API catching up after a lost Redis connection (shared/src/verify/outage-catch-up.ts) reads
 * the events still open (pending: events_pending_idx; failed transiently: the first index) and
 * those claimed recently (the second, which `/metrics`'s recent event lag reads too): with these,
 * none of those reads scans the events table.
 */
export const up: Migration = async ({ context: sql }) => {
  await sql.query(`
    CREATE INDEX IF NOT EXISTS events_transient_failed_idx ON events (created_at) WHERE status = 'failed' AND error = 'internal_error: processing failed';
    CREATE INDEX IF NOT EXISTS events_processed_at_idx ON events (processed_at) WHERE processed_at IS NOT NULL;
  `);
};

export const down: Migration = async ({ context: sql }) => {
  await sql.query('DROP INDEX IF EXISTS events_transient_failed_idx, events_processed_at_idx;');
};
