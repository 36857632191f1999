import type { Migration } from '../shared/src/db/migrator';

/**
 * Every session of a user, revoked or not. The worker's Redis write-through (`StateSync`) reads a
 * user's live sessions and those revoked in the last day; the only index on `user_id` was partial
 * (live sessions only), so that read scanned the whole sessions table once per user synced
 * (bench/RESULTS.md, events: the largest Postgres cost per event, growing with the table).
 */
export const up: Migration = async ({ context: sql }) => {
  await sql.query('CREATE INDEX IF NOT EXISTS sessions_user_idx ON sessions (user_id);');
};

export const down: Migration = async ({ context: sql }) => {
  await sql.query('DROP INDEX IF EXISTS sessions_user_idx;');
};
