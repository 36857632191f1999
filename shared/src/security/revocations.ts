import type { Sequelize, Transaction } from 'sequelize';
import { rawQueryIn } from '../db/raw-connection';
import { REVOKED_SESSION, type UserState } from '../verify/auth-state';
import type { StateCache } from '../verify/state-cache';

/** Which of a user's live sessions to revoke. */
export type SessionSelector = { sessionIds: string[] } | { allExcept?: string };

/** What a revocation changed in Postgres, to be written through to Redis after commit. */
export interface RevocationResult {
  userId: string;
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
    const [kind, filter, extra] =
      'sessionIds' in which
        ? ['ids', 'AND id = ANY($3::uuid[])', [which.sessionIds]]
        : which.allExcept
          ? ['except', 'AND id <> $3::uuid', [which.allExcept]]
          : ['all', '', []];
    const rows = await rawQueryIn<{ id: string }>(this.db, t, {
      name: `lk_sessions_revoke_${kind}`,
      text: `UPDATE sessions SET revoked_at = now(), revoke_reason = $2::text
       WHERE user_id = $1::uuid AND revoked_at IS NULL ${filter} RETURNING id`,
      values: [userId, reason, ...extra],
    });
    return rows.map((r) => r.id);
  }

  /** Bumps the token version (every access token issued before is refused); returns the new state. */
  async bumpTokenVersion(t: Transaction, userId: string, status?: 'active' | 'suspended'): Promise<UserState | undefined> {
    const [row] = await rawQueryIn<{ token_version: number; status: 'active' | 'suspended' }>(this.db, t, {
      name: 'lk_user_bump_token_version',
      text: `UPDATE users SET token_version = token_version + 1, status = COALESCE($2::text, status), updated_at = now()
       WHERE id = $1::uuid RETURNING token_version, status`,
      values: [userId, status ?? null],
    });
    return row ? { tokenVersion: row.token_version, status: row.status } : undefined;
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
