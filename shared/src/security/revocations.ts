import { QueryTypes, type Sequelize, type Transaction } from 'sequelize';
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
    const filter =
      'sessionIds' in which ? 'AND id IN (:ids)' : which.allExcept ? 'AND id <> :except' : '';
    if ('sessionIds' in which && which.sessionIds.length === 0) return [];
    const rows = await this.db.query<{ id: string }>(
      `UPDATE sessions SET revoked_at = now(), revoke_reason = :reason
       WHERE user_id = :userId AND revoked_at IS NULL ${filter} RETURNING id`,
      {
        type: QueryTypes.SELECT,
        transaction: t,
        replacements: {
          userId,
          reason,
          ids: 'sessionIds' in which ? which.sessionIds : null,
          except: 'allExcept' in which ? (which.allExcept ?? null) : null,
        },
      },
    );
    return rows.map((r) => r.id);
  }

  /** Bumps the token version (every access token issued before is refused); returns the new state. */
  async bumpTokenVersion(t: Transaction, userId: string, status?: 'active' | 'suspended'): Promise<UserState | undefined> {
    const [row] = await this.db.query<{ token_version: number; status: 'active' | 'suspended' }>(
      `UPDATE users SET token_version = token_version + 1, status = COALESCE(:status, status), updated_at = now()
       WHERE id = :userId RETURNING token_version, status`,
      { type: QueryTypes.SELECT, transaction: t, replacements: { userId, status: status ?? null } },
    );
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
