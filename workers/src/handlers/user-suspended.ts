import type { EventHandler } from '../handler';
import { bumpAndRevoke } from '../user-effects';

/**
 * `user.suspended`: status set to suspended, token version bumped, every family revoked (every
 * one live when applied, also one opened while the event waited: see `UserWideRevocation`). Old
 * access tokens are refused (their session is revoked: `session_revoked`, the first failing
 * check), sign-in and refresh answer `user_suspended`.
 */
export const userSuspended: EventHandler<'user.suspended'> = {
  async apply(event, t, ctx) {
    const { userId, reason } = event.data;
    const r = await bumpAndRevoke(ctx, t, event, userId, { status: 'suspended', revoke: { upTo: 'apply' }, reason: 'user_suspended' });
    return {
      severity: 'warning',
      userId,
      details: { previousStatus: r.previousStatus, tokenVersion: r.tokenVersion, revokedSessions: r.revokedSessions, ...(reason ? { reason } : {}) },
      writeThrough: { user: r.writeThrough },
    };
  },
  async sync(event, ctx) {
    await ctx.stateSync.user(event.data.userId);
  },
};
