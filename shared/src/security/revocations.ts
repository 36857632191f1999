import type { Sequelize, Transaction } from 'sequelize';
import { rawQueryIn } from '../db/raw-connection';
import { REVOKED_SESSION, type UserState } from '../verify/auth-state';
import type { StateCache } from '../verify/state-cache';

/**
 * Which of a user's live sessions to revoke: the given ones, or all of them (but `allExcept`).
 * `openedUpToEvent` (an event id) keeps "all" to the sessions opened at or before that event's
 * outbox row was stored: a worker applying a user-wide event late must not revoke the sign-ins
 * that came after it (see `UserWideRevocation` in workers/src/user-effects.ts).
 */
export type SessionSelector = { sessionIds: string[] } | { allExcept?: string; openedUpToEvent?: string };

/** A user row locked by a change, as it was before the change. */
export interface LockedUser {
  id: string;
  email: string;
  status: 'active' | 'suspended';
  token_version: number;
}

/** The statement name suffix, the WHERE clause and its values (numbered from `first`) of a selector. */
function selectSessions(which: SessionSelector, first: number): { kind: string; filter: string; values: unknown[] } {
  if ('sessionIds' in which) return { kind: 'ids', filter: `AND id = ANY($${first}::uuid[])`, values: [which.sessionIds] };
  const values: unknown[] = [];
  let filter = '';
  if (which.allExcept) {
    values.push(which.allExcept);
    filter += ` AND id <> $${first + values.length - 1}::uuid`;
  }
  if (which.openedUpToEvent) {
    values.push(which.openedUpToEvent);
    // Both times come from Postgres's clock. Without a stored row (the worker's claim always
    // leaves one) there is no bound rather than nothing revoked.
    filter += ` AND created_at <= COALESCE((SELECT created_at FROM events WHERE id = $${first + values.length - 1}::uuid), 'infinity')`;
  }
  return { kind: `${which.allExcept ? 'except' : 'all'}${which.openedUpToEvent ? '_upto' : ''}`, filter, values };
}

/** What a revocation left in Postgres, to be written through to Redis after commit. */
export interface RevocationResult {
  userId: string;
  /** Sessions revoked in Postgres: those the change revoked, and any the caller targeted that were revoked already. */
  revokedSessionIds: string[];
  user?: UserState;
}

/**
 * The revocation primitives, shared by the API (synchronous, G1) and the workers (fan-out, G2).
 * Each runs inside the caller's transaction; `writeThrough` then copies the result into Redis.
 * All are idempotent: a revoked session stays revoked, a version only moves up.
 */
export class Revocations {
  constructor(
    private readonly db: Sequelize,
    private readonly cache: StateCache,
  ) {}

  async revokeSessions(t: Transaction, userId: string, which: SessionSelector, reason: string): Promise<string[]> {
    if ('sessionIds' in which && which.sessionIds.length === 0) return [];
    const selected = selectSessions(which, 3);
    const rows = await rawQueryIn<{ id: string }>(this.db, t, {
      name: `lk_sessions_revoke_${selected.kind}`,
      text: `UPDATE sessions SET revoked_at = now(), revoke_reason = $2::text
       WHERE user_id = $1::uuid AND revoked_at IS NULL ${selected.filter} RETURNING id`,
      values: [userId, reason, ...selected.values],
    });
    return rows.map((r) => r.id);
  }

  /**
   * What a user-wide event does to the user: locks the user row, bumps the token version (setting
   * `status` if given) when `bump` and, with `onlyFrom`, only if the user's status is that one
   * (checked on the locked row), and revokes the selected live sessions: a `FOR UPDATE` of the
   * user, then one statement with the token-version bump and `revokeSessions`'s update. Returns the
   * user as it was before (undefined: no such user, nothing changed), the new state when bumped and
   * the ids of the sessions revoked.
   *
   * The lock is a statement of its own because under READ COMMITTED a statement sees only what was
   * committed when it started: a sign-in holding a lock on the user row (OPEN_SESSION) commits its
   * session while a revocation waits for that lock, and a revocation that waited inside its own
   * statement would not see that session and would leave it live under the old version, for a
   * refresh to carry into the new one (G6). Both statements are sent at once: in the worker's
   * pipeline mode they still travel in one round trip; elsewhere `pg` sends the second when the
   * first is answered.
   */
  async lockBumpAndRevoke(
    t: Transaction,
    userId: string,
    change: { bump: boolean; onlyFrom?: 'active' | 'suspended'; status?: 'active' | 'suspended'; sessions: SessionSelector | 'none'; reason: string },
  ): Promise<{ before: LockedUser; after?: UserState; revokedSessionIds: string[] } | undefined> {
    const selected = change.sessions === 'none' ? { kind: 'none', filter: 'AND false', values: [] } : selectSessions(change.sessions, 6);
    const locked = rawQueryIn(this.db, t, { name: 'lk_revocation_user_lock', text: 'SELECT id FROM users WHERE id = $1::uuid FOR UPDATE', values: [userId] });
    const changed = rawQueryIn<LockedUser & { new_token_version: number | null; new_status: 'active' | 'suspended' | null; revoked: string[] }>(this.db, t, {
      name: `lk_user_bump_revoke_${selected.kind}`,
      text: `WITH before AS (SELECT id, email, status, token_version FROM users WHERE id = $1::uuid FOR UPDATE),
       bumped AS (
         UPDATE users SET token_version = token_version + 1, status = COALESCE($2::text, status), updated_at = now()
         WHERE id = (SELECT id FROM before) AND $3::boolean AND ($5::text IS NULL OR status = $5::text) RETURNING token_version, status
       ),
       revoked AS (
         UPDATE sessions SET revoked_at = now(), revoke_reason = $4::text
         WHERE user_id = (SELECT id FROM before) AND revoked_at IS NULL ${selected.filter} RETURNING id
       )
       SELECT before.*, (SELECT token_version FROM bumped) AS new_token_version, (SELECT status FROM bumped) AS new_status,
         ARRAY(SELECT id FROM revoked)::text[] AS revoked
       FROM before`,
      values: [userId, change.status ?? null, change.bump, change.reason, change.onlyFrom ?? null, ...selected.values],
    });
    const [, [row]] = await Promise.all([locked, changed]);
    if (!row) return undefined;
    const { new_token_version, new_status, revoked, ...before } = row;
    return {
      before,
      ...(new_token_version === null ? {} : { after: { tokenVersion: new_token_version, status: new_status! } }),
      revokedSessionIds: revoked,
    };
  }

  /**
   * Bumps the token version (every access token issued before is refused) and revokes the selected
   * live sessions (`lockBumpAndRevoke`: the lock, then one statement); returns what to write through after
   * commit.
   */
  async bumpAndRevoke(t: Transaction, userId: string, which: SessionSelector, reason: string): Promise<RevocationResult> {
    const changed = await this.lockBumpAndRevoke(t, userId, { bump: true, sessions: which, reason });
    return { userId, revokedSessionIds: changed?.revokedSessionIds ?? [], ...(changed?.after ? { user: changed.after } : {}) };
  }

  /** After commit: make Redis agree with what was committed, before the caller answers. */
  async writeThrough(result: RevocationResult): Promise<void> {
    const sessions = result.revokedSessionIds.map((id) => ({ id, state: REVOKED_SESSION }));
    await Promise.all([
      this.cache.writeSessions(result.userId, sessions),
      result.user ? this.cache.writeUser(result.userId, result.user) : undefined,
    ]);
  }
}
