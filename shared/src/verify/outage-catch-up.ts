import { QueryTypes, type Sequelize } from 'sequelize';
import { TRANSIENT_FAILURE } from '../events/outbox';
import { REVOKING_TYPES } from '../events/schemas';
import type { StateSync } from './state-sync';

/** Beyond this many subjects the state is dropped (and read through on demand) instead. */
const MAX_CATCH_UP_SUBJECTS = 5_000;

/**
 * Events claimed from this long before contact was lost count too: the claim may precede the
 * moment the drop was noticed, and this host's clock may run ahead of Postgres's.
 */
const SINCE_MARGIN_SECONDS = 10;

/** A uuid, as text (the catch-up casts nothing that is not one). */
const UUID_PATTERN = '^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$';

/** The event types whose effect verification reads: the revoking ones and the API's own logout. */
const STATE_CHANGING = [...REVOKING_TYPES, 'auth.logout'];

/**
 * Repairs what a Redis server may have missed while this process had lost contact with it (the
 * same server, not restarted: its data is intact, but writes that failed meanwhile are missing),
 * or since it started. Every change verification reads commits with its outbox event: still open
 * (`pending`, or failed transiently and due another attempt) until a worker has applied it, and
 * claimed (`processed_at`) by the worker before it writes Redis, a write that may have failed
 * while contact was lost. So the state of every user and organization named by an open event, or
 * by one claimed since `since`, is rewritten from Postgres (fenced, versioned). With more subjects
 * than `maxSubjects`, `dropAll` drops the per-user state instead, as for a restarted server.
 */
export async function catchUpPendingChanges(
  db: Sequelize,
  sync: StateSync,
  since: Date,
  dropAll: () => Promise<unknown>,
  maxSubjects = MAX_CATCH_UP_SUBJECTS,
): Promise<void> {
  const subjects = await db.query<{ user_id: string | null; organization_id: string | null }>(
    `WITH named AS (
       SELECT lower(COALESCE(e.data->>'userId', s.user_id::text)) AS user_id,
         lower(CASE WHEN e.data ? 'userId' THEN NULL ELSE e.data->>'organizationId' END) AS organization_id
       FROM events e
       LEFT JOIN sessions s ON e.type = 'session.revoked'
         AND s.id = CASE WHEN e.data->>'sessionId' ~* :uuid THEN (e.data->>'sessionId')::uuid END
       WHERE (e.status = 'pending' OR (e.status = 'failed' AND e.error = :transient)
              OR e.processed_at >= :since::timestamptz - make_interval(secs => :margin))
         AND e.type = ANY(ARRAY[:types]::text[])
     )
     -- Stored events were validated; a value that is no uuid anyway must not stop the catch-up.
     SELECT DISTINCT CASE WHEN user_id ~* :uuid THEN user_id END AS user_id,
       CASE WHEN organization_id ~* :uuid THEN organization_id END AS organization_id
     FROM named WHERE user_id ~* :uuid OR organization_id ~* :uuid
     LIMIT :limit`,
    { type: QueryTypes.SELECT, replacements: { types: STATE_CHANGING, transient: TRANSIENT_FAILURE, since, margin: SINCE_MARGIN_SECONDS, uuid: UUID_PATTERN, limit: maxSubjects + 1 } },
  );
  if (subjects.length > maxSubjects) {
    await dropAll();
    return;
  }
  // A user's rewrite covers its memberships; an organization-wide event names no user.
  await Promise.all([
    ...subjects.flatMap((s) => (s.user_id ? [sync.user(s.user_id)] : [])),
    ...subjects.flatMap((s) => (s.organization_id ? [sync.organization(s.organization_id)] : [])),
  ]);
}
