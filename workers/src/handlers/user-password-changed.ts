import type { EventHandler } from '../handler';
import { bumpAndRevoke } from '../user-effects';

/**
 * `user.password_changed`: token version bumped, every family but the kept one revoked (of those
 * opened up to the event: a sign-in with the new password survives, see `UserWideRevocation`),
 * caches rewritten. The API sends it from the password change and reset flows after applying the bump
 * itself (G1), so for `source: api` only the idempotent parts run (see versionAlreadyApplied).
 */
export const userPasswordChanged: EventHandler<'user.password_changed'> = {
  async apply(event, t, ctx) {
    const { userId, keepSessionId } = event.data;
    const r = await bumpAndRevoke(ctx, t, event, userId, { revoke: { except: keepSessionId, upTo: 'event' }, reason: 'password_changed' });
    return {
      severity: 'warning',
      userId,
      sessionId: keepSessionId ?? null,
      details: { tokenVersion: r.tokenVersion, revokedSessions: r.revokedSessions, versionBumpedByWorker: r.bumped, keptSession: Boolean(keepSessionId) },
      writeThrough: { user: r.writeThrough },
    };
  },
  async sync(event, ctx) {
    await ctx.stateSync.user(event.data.userId);
  },
};
