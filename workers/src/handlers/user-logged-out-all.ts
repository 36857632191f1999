import type { EventHandler } from '../handler';
import { bumpAndRevoke } from '../user-effects';

/**
 * `user.logged_out_all`: token version bumped and every family opened up to the event revoked
 * (not the sign-ins after it: see `UserWideRevocation`). From the API (`POST /auth/logout-all`)
 * the bump was already applied synchronously and is not repeated.
 */
export const userLoggedOutAll: EventHandler<'user.logged_out_all'> = {
  async apply(event, t, ctx) {
    const { userId } = event.data;
    const r = await bumpAndRevoke(ctx, t, event, userId, { revoke: { upTo: 'event' }, reason: 'logout_all' });
    return {
      severity: 'info',
      userId,
      details: { tokenVersion: r.tokenVersion, revokedSessions: r.revokedSessions, versionBumpedByWorker: r.bumped },
      writeThrough: { user: r.writeThrough },
    };
  },
  async sync(event, ctx) {
    await ctx.stateSync.user(event.data.userId);
  },
};
