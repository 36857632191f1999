import type { ApiDeps } from '../../deps';

/**
 * "Your password was changed": sent after a change or a reset has committed. A failed send is
 * logged, not raised: the change itself is done and must be reported as done.
 */
export async function notifyPasswordChanged(deps: Pick<ApiDeps, 'mailer' | 'logger'>, email: string): Promise<void> {
  try {
    await deps.mailer.send({
      to: email,
      kind: 'password_changed',
      subject: 'Your password was changed',
      text: 'The password of your account was just changed and your other sessions were signed out. If this was not you, reset your password now.',
    });
  } catch (err) {
    deps.logger.warn({ err: String(err), kind: 'password_changed' }, 'notice not sent');
  }
}
