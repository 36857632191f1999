import type { Migration } from '../shared/src/db/migrator';

/**
 * Time-window reads of the audit log (`from`/`to` on occurred_at, without a user, organization,
 * session or type filter). The log is partitioned by created_at and paged newest first by id; the
 * window is on occurred_at, which the event's sender chooses, so no partition can be pruned and the
 * id-ordered scan reads every partition below the cursor to its end, for every page and every
 * export batch (bench/RESULTS.md, audit).
 *
 * A two-dimensional GiST index on (id, occurred_at) (btree_gist provides the bigint and timestamptz
 * operator classes and the `<->` distance) answers "the records with occurred_at in the window and
 * id below the cursor, nearest the cursor first" directly: subtrees outside the window or above the
 * cursor are skipped, and `ORDER BY id <-> cursor` over ids below the cursor is `ORDER BY id DESC`.
 * Built on every partition (and on the ones created later) through the partitioned parent.
 */
export const up: Migration = async ({ context: sql }) => {
  await sql.query(`
    CREATE EXTENSION IF NOT EXISTS btree_gist;
    CREATE INDEX IF NOT EXISTS audit_logs_id_occurred_gist ON audit_logs USING gist (id, occurred_at);
  `);
};

export const down: Migration = async ({ context: sql }) => {
  // The extension stays: other objects may use it, and it holds no data.
  await sql.query('DROP INDEX IF EXISTS audit_logs_id_occurred_gist;');
};
