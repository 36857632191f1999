import type { Migration } from '../shared/src/db/migrator';

/**
 * Events that a worker before this migration left `failed` after its last transient failure
 * (error 'internal_error: processing failed'): they have no audit record, and the outbox relay
 * only takes pending rows, so nothing would ever finish them. Back to `pending`, with
 * `enqueued_at` cleared: the relay gives each a new round of attempts, after which it is
 * processed or rejected with its one `event.rejected` record, as every event must be.
 */
export const up: Migration = async ({ context: sql }) => {
  await sql.query(`
    UPDATE events SET status = 'pending', enqueued_at = NULL
    WHERE status = 'failed' AND error = 'internal_error: processing failed' AND processed_at IS NULL;`);
};

/** Nothing to undo: by then those events are processed or rejected like any other. */
export const down: Migration = async () => undefined;
