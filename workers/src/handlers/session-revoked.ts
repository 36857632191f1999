import { AppError } from '../../../shared/src/errors/app-error';
import type { EventHandler } from '../handler';
import { sessionOwner } from '../user-effects';

/** `session.revoked`: that one family revoked; its access tokens are refused with `session_revoked`. */
export const sessionRevoked: EventHandler<'session.revoked'> = {
  async apply(event, t, ctx) {
    const { sessionId, reason } = event.data;
    const userId = await sessionOwner(ctx.db, t, sessionId);
    if (!userId) throw new AppError('not_found', { detail: `session ${sessionId} does not exist` });
    const revoked = await ctx.revocations.revokeSessions(t, userId, { sessionIds: [sessionId] }, reason);
    return { severity: 'info', userId, sessionId, details: { reason, alreadyRevoked: revoked.length === 0 } };
  },
  async sync(event, ctx) {
    const userId = await sessionOwner(ctx.db, null, event.data.sessionId);
    if (userId) await ctx.stateSync.user(userId);
  },
};
