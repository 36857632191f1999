import type { EventHandler } from '../handler';
import { bumpAndRevoke } from '../user-effects';

/**
 * `user.reinstated`: status set back to active. The token version is bumped too: Redis only takes
 * values of an equal or higher version, so a status change without a bump could not replace the
 * cached `suspended`. Sessions revoked by the suspension stay revoked; the user signs in again.
 */
export const userReinstated: EventHandler<'user.reinstated'> = {
  async apply(event, t, ctx) {
    const { userId, reason } = event.data;
    const r = await bumpAndRevoke(ctx, t, event, userId, { status: 'active', revoke: 'none', reason: 'user_reinstated' });
    return {
      severity: 'info',
      userId,
      details: { previousStatus: r.previousStatus, tokenVersion: r.tokenVersion, ...(reason ? { reason } : {}) },
      writeThrough: { user: r.writeThrough },
    };
  },
  async sync(event, ctx) {
    await ctx.stateSync.user(event.data.userId);
  },
};
