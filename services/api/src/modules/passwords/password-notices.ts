import type { SecurityEvent } from '../../../../../shared/src/events/schemas';
import type { RevocationResult } from '../../../../../shared/src/security/revocations';
import type { ApiDeps } from '../../deps';
import { afterRevocationCommit } from '../sessions/after-revocation-commit';

/**
 * What a password change or reset does once committed: its revocation's event and write-through
 * (afterRevocationCommit), and the owner told, even when the write-through failed (a 503).
 */
export async function afterPasswordCommit(deps: ApiDeps, revoked: RevocationResult, event: SecurityEvent, email: string): Promise<void> {
  try {
    await afterRevocationCommit(deps, revoked, [event]);
  } finally {
    await notifyPasswordChanged(deps, email);
  }
}

/**
 * "Your password was changed": sent after a change or a reset has committed. A failed send is
 * logged, not raised: the change itself is done and must be reported as done.
 */
async function notifyPasswordChanged(deps: Pick<ApiDeps, 'mailer' | 'logger'>, email: string): Promise<void> {
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
