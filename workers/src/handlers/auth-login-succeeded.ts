import type { EventHandler } from '../handler';

/** `auth.login_succeeded`: audit only (the API opened the session). */
export const authLoginSucceeded: EventHandler<'auth.login_succeeded'> = {
  async apply(event) {
    const { userId, sessionId, organizationId } = event.data;
    return { severity: 'info', userId, sessionId, organizationId: organizationId ?? null };
  },
  async sync() {},
};
