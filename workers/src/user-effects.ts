import type { Transaction } from 'sequelize';
import { rawQueryIn } from '../../shared/src/db/raw-connection';
import { AppError } from '../../shared/src/errors/app-error';
import type { SecurityEvent } from '../../shared/src/events/schemas';
import type { LockedUser, RevocationResult } from '../../shared/src/security/revocations';
import type { HandlerContext } from './handler';

/** Locks the user (so concurrent events on one user apply one after the other) or refuses the event. */
export async function lockUser(ctx: HandlerContext, t: Transaction, userId: string): Promise<LockedUser> {
  const [user] = await rawQueryIn<LockedUser>(ctx.db, t, {
    name: 'lk_user_lock',
    text: 'SELECT id, email, status, token_version FROM users WHERE id = $1::uuid FOR UPDATE',
    values: [userId],
  });
  if (!user) throw new AppError('not_found', { detail: `user ${userId} does not exist` });
  return user;
}

/**
 * Events the API emits after changing versions itself, in the same transaction as the outbox row
 * (logout-all, password change): the worker must not bump a second time. The rule is the source:
 * `api` is only ever set by the API process; product backends get `service:<name>` from their
 * credential, so they cannot claim it. Everything else (families revoked, caches) is re-applied,
 * which is idempotent.
 */
export function versionAlreadyApplied(event: SecurityEvent): boolean {
  return event.source === 'api';
}

/**
 * Locks the user, bumps the token version (optionally setting the status) unless the emitter
 * already did, and revokes the selected families, in one statement. Refuses an unknown user
 * (not_found). Returns what the audit record reports.
 */
export async function bumpAndRevoke(
  ctx: HandlerContext,
  t: Transaction,
  event: SecurityEvent,
  userId: string,
  options: { status?: 'active' | 'suspended'; revoke: 'all' | { allExcept?: string } | 'none'; reason: string },
): Promise<{ tokenVersion: number; previousStatus: string; revokedSessions: number; bumped: boolean; writeThrough: RevocationResult }> {
  const bumped = !versionAlreadyApplied(event);
  const changed = await ctx.revocations.lockBumpAndRevoke(t, userId, {
    bump: bumped,
    ...(options.status ? { status: options.status } : {}),
    sessions: options.revoke === 'all' ? {} : options.revoke,
    reason: options.reason,
  });
  if (!changed) throw new AppError('not_found', { detail: `user ${userId} does not exist` });
  return {
    tokenVersion: changed.after?.tokenVersion ?? changed.before.token_version,
    previousStatus: changed.before.status,
    revokedSessions: changed.revokedSessionIds.length,
    bumped,
    writeThrough: { userId, revokedSessionIds: changed.revokedSessionIds, ...(changed.after ? { user: changed.after } : {}) },
  };
}
