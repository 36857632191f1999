import { QueryTypes } from 'sequelize';
import type { EventHandler } from '../handler';
import { sendNoticeOnce } from '../notices';
import { lockUser } from '../user-effects';

/**
 * `refresh_token.reused`: a used refresh token came back after the grace window, so someone else
 * may hold the family. The API refused it and revoked the family synchronously; this makes sure
 * the family is revoked (also when a product backend reports it), writes the critical audit
 * record and tells the user, once.
 */
export const refreshTokenReused: EventHandler<'refresh_token.reused'> = {
  async apply(event, t, ctx) {
    const { sessionId, userId, ip, userAgent } = event.data;
    await lockUser(ctx, t, userId);
    const revoked = await ctx.revocations.revokeSessions(t, userId, { sessionIds: [sessionId] }, 'refresh_token_reused');
    return {
      severity: 'critical',
      userId,
      sessionId,
      details: { revokedByWorker: revoked.length > 0, ...(ip ? { ip } : {}), ...(userAgent ? { userAgent } : {}) },
    };
  },
  async sync(event, ctx) {
    const { userId } = event.data;
    await ctx.stateSync.user(userId);
    const [user] = await ctx.db.query<{ email: string }>('SELECT email FROM users WHERE id = :userId', {
      type: QueryTypes.SELECT,
      replacements: { userId },
    });
    if (!user) return;
    await sendNoticeOnce(ctx, event.id, {
      to: user.email,
      kind: 'session_reuse_revoked',
      subject: 'We signed out one of your sessions',
      text:
        'A sign-in token of one of your sessions was used twice, which can mean someone copied it. ' +
        'We signed that session out. If you do not recognise this, change your password.',
    });
  },
};
