import type { EventHandler } from '../handler';
import { bumpAndRevoke } from '../user-effects';

/**
 * `user.reinstated`: a suspended user set back to active. Only a suspended user changes: the same
 * event sent again, or for a user who is active, changes nothing, so it cannot make every token of
 * an active user `token_version_stale`. A reinstatement bumps the token version: Redis takes a
 * versioned value of an equal or higher version (SET_IF_NOT_OLDER), so at the suspension's version
 * a late write of the suspended state (a read-through fill that read Postgres just before this
 * commit) could replace the reinstatement and keep the user refused until the next rewrite; one
 * version up, it cannot. Sessions revoked by the suspension stay revoked; the user signs in again.
 */
export const userReinstated: EventHandler<'user.reinstated'> = {
  async apply(event, t, ctx) {
    const { userId, reason } = event.data;
    const r = await bumpAndRevoke(ctx, t, event, userId, { status: 'active', onlyFrom: 'suspended', revoke: 'none', reason: 'user_reinstated' });
    return {
      severity: 'info',
      userId,
      details: { previousStatus: r.previousStatus, reinstated: r.bumped, tokenVersion: r.tokenVersion, ...(reason ? { reason } : {}) },
      writeThrough: { user: r.writeThrough },
    };
  },
  async sync(event, ctx) {
    await ctx.stateSync.user(event.data.userId);
  },
};
