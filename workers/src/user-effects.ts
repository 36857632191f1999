import { QueryTypes, type Sequelize, type Transaction } from 'sequelize';
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
 * The user a session belongs to (undefined: no such session). In a transaction, the session row is
 * locked too. An event naming a session is about that session's owner only: a handler refuses one
 * whose session is unknown, or belongs to another user than the event names.
 */
export async function sessionOwner(db: Sequelize, t: Transaction | null, sessionId: string): Promise<string | undefined> {
  const [row] = await db.query<{ user_id: string }>(`SELECT user_id FROM sessions WHERE id = :sessionId${t ? ' FOR UPDATE' : ''}`, {
    type: QueryTypes.SELECT,
    transaction: t ?? undefined,
    replacements: { sessionId },
  });
  return row?.user_id;
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
 * Which sessions a user-wide event revokes, by when they were opened (`except`: one kept session):
 * - `upTo: 'event'`, for logout-all and password change or reset: the sessions opened at or before
 *   the event's outbox row was stored, however late the worker runs (a backlog, a restart, an
 *   outage): a sign-in after that is a new session the event was not about, and must survive
 *   (from the API it carries the new version already; from a backend, the bump applied here
 *   leaves it on the old one, which its next refresh moves forward).
 *   The bound is the row's `created_at`, not the envelope's `occurredAt`: it comes from Postgres's
 *   clock, as `sessions.created_at` does, and no sender chooses it (a backend may set `occurredAt`
 *   to any time; the API takes it from its own host). From the API, the row is written by the
 *   transaction that bumped the version and revoked the sessions, and `created_at` is that
 *   transaction's start: a session it could not see (inserted by a statement that began earlier
 *   and committed later) was opened before it and is still revoked here. From `POST /v1/events`,
 *   the row is stored before the 202: the sessions revoked are those that existed when the
 *   backend asked. An event published straight into the queue has no row until the worker's
 *   claim inserts one in the applying transaction: every session live then is revoked, since
 *   nothing else tells when such an event was meant.
 * - `upTo: 'apply'`, for suspension and security reset: every session live when the worker applies
 *   the event, whenever it was opened. Sign-in is refused once the event is applied (suspended, or
 *   a password reset required), so nothing opened later is touched; but a session opened while the
 *   event waited in the queue (the user could still sign in) is exactly what it must end.
 */
export type UserWideRevocation = 'none' | { except?: string; upTo: 'event' | 'apply' };

/**
 * Locks the user, bumps the token version (optionally setting the status) unless the emitter
 * already did, and revokes the selected families (Revocations.lockBumpAndRevoke). With `onlyFrom`,
 * the bump and the status change happen only when the user's status is that one (`bumped` says
 * whether they did). Refuses an unknown user (not_found). Returns what the audit record reports.
 */
export async function bumpAndRevoke(
  ctx: HandlerContext,
  t: Transaction,
  event: SecurityEvent,
  userId: string,
  options: { status?: 'active' | 'suspended'; onlyFrom?: 'active' | 'suspended'; revoke: UserWideRevocation; reason: string },
): Promise<{ tokenVersion: number; previousStatus: string; revokedSessions: number; bumped: boolean; writeThrough: RevocationResult }> {
  const { revoke } = options;
  const changed = await ctx.revocations.lockBumpAndRevoke(t, userId, {
    bump: !versionAlreadyApplied(event),
    ...(options.onlyFrom ? { onlyFrom: options.onlyFrom } : {}),
    ...(options.status ? { status: options.status } : {}),
    sessions:
      revoke === 'none'
        ? 'none'
        : { ...(revoke.except ? { allExcept: revoke.except } : {}), ...(revoke.upTo === 'event' ? { openedUpToEvent: event.id } : {}) },
    reason: options.reason,
  });
  if (!changed) throw new AppError('not_found', { detail: `user ${userId} does not exist` });
  return {
    tokenVersion: changed.after?.tokenVersion ?? changed.before.token_version,
    previousStatus: changed.before.status,
    revokedSessions: changed.revokedSessionIds.length,
    bumped: changed.after !== undefined,
    writeThrough: { userId, revokedSessionIds: changed.revokedSessionIds, ...(changed.after ? { user: changed.after } : {}) },
  };
}
