import type { EventHandler } from '../handler';
import { bumpAndRevoke } from '../user-effects';

/**
 * `user.security_reset` (e.g. a suspected account takeover): every token and family revoked as for
 * a suspension, and a password reset required before the next sign-in; the user stays active so
 * the forgot/reset flow works, and a successful reset clears the requirement.
 */
export const userSecurityReset: EventHandler<'user.security_reset'> = {
  async apply(event, t, ctx) {
    const { userId, reason } = event.data;
    const r = await bumpAndRevoke(ctx, t, event, userId, { revoke: { upTo: 'apply' }, reason: 'security_reset' });
    await ctx.db.query('UPDATE users SET password_reset_required = true, updated_at = now() WHERE id = :userId', {
      transaction: t,
      replacements: { userId },
    });
    return {
      severity: 'critical',
      userId,
      details: { tokenVersion: r.tokenVersion, revokedSessions: r.revokedSessions, passwordResetRequired: true, ...(reason ? { reason } : {}) },
      writeThrough: { user: r.writeThrough },
    };
  },
  async sync(event, ctx) {
    await ctx.stateSync.user(event.data.userId);
  },
};
