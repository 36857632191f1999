import type { EventHandler } from '../handler';

/** `auth.login_failed`: audit only; the reason says whether the account exists (never shown to callers). */
export const authLoginFailed: EventHandler<'auth.login_failed'> = {
  async apply(event) {
    return { severity: 'warning', userId: event.data.userId ?? null, details: { reason: event.data.reason } };
  },
  async sync() {},
};
