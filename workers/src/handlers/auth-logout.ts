import type { EventHandler } from '../handler';

/** `auth.logout`: the API revoked the session synchronously; this re-applies it (a no-op) and audits. */
export const authLogout: EventHandler<'auth.logout'> = {
  async apply(event, t, ctx) {
    const { userId, sessionId } = event.data;
    const revoked = await ctx.revocations.revokeSessions(t, userId, { sessionIds: [sessionId] }, 'logout');
    return { severity: 'info', userId, sessionId, details: { revokedByWorker: revoked.length > 0 } };
  },
  async sync(event, ctx) {
    await ctx.stateSync.user(event.data.userId);
  },
};
