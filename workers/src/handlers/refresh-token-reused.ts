import { QueryTypes } from 'sequelize';
import { AppError } from '../../../shared/src/errors/app-error';
import type { EventHandler } from '../handler';
import { sendNoticeOnce } from '../notices';
import { lockUser, sessionOwner } from '../user-effects';

/**
 * `refresh_token.reused`: a used refresh token came back after the grace window, so someone else
 * may hold the family. The API refused it and revoked the family synchronously; this makes sure
 * the family is revoked (also when a product backend reports it), writes the critical audit
 * record and tells the user, once. The session must be the user's (as for `session.revoked`):
 * an unknown session, or one of another user, is refused (`event.rejected`), so that a wrong
 * pair never alarms, and mails, a user whose session nothing happened to.
 */
export const refreshTokenReused: EventHandler<'refresh_token.reused'> = {
  async apply(event, t, ctx) {
    const { sessionId, userId, ip, userAgent } = event.data;
    await lockUser(ctx, t, userId);
    // Unknown and foreign sessions get the same answer: the sender learns nothing of other users.
    if ((await sessionOwner(ctx.db, t, sessionId)) !== userId) {
      throw new AppError('not_found', { publicDetail: 'No such session of that user.', detail: `session ${sessionId} is not a session of user ${userId}` });
    }
    const revoked = await ctx.revocations.revokeSessions(t, userId, { sessionIds: [sessionId] }, 'refresh_token_reused');
    return {
      severity: 'critical',
      userId,
      sessionId,
      details: { revokedByWorker: revoked.length > 0, ...(ip ? { ip } : {}), ...(userAgent ? { userAgent } : {}) },
    };
  },
  async sync(event, ctx) {
    const { userId, sessionId } = event.data;
    await ctx.stateSync.user(userId);
    // sync also runs for a redelivery of a refused event: mail only the owner of the session.
    const [owner] = await ctx.db.query<{ email: string }>(
      'SELECT u.email FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = :sessionId AND s.user_id = :userId',
      { type: QueryTypes.SELECT, replacements: { userId, sessionId } },
    );
    if (!owner) return;
    await sendNoticeOnce(ctx, event.id, {
      to: owner.email,
      kind: 'session_reuse_revoked',
      subject: 'We signed out one of your sessions',
      text:
        'A sign-in token of one of your sessions was used twice, which can mean someone copied it. ' +
        'We signed that session out. If you do not recognise this, change your password.',
    });
  },
};
