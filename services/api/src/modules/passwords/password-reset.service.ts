import { QueryTypes } from 'sequelize';
import { AppError } from '../../../../../shared/src/errors/app-error';
import { buildEvent, insertOutboxEvent } from '../../../../../shared/src/events/outbox';
import { normalizeEmail } from '../../../../../shared/src/security/emails';
import { hashPassword } from '../../../../../shared/src/security/passwords';
import type { ApiDeps } from '../../deps';
import type { RequestContext } from '../../http/request-context';
import { consumeOneTimeToken, createOneTimeToken } from '../auth/one-time-tokens';
import { afterPasswordCommit } from './password-notices';

const INVALID_LINK = 'The link is invalid, already used or expired.';

/**
 * Forgot / reset / verify-email. Forgot answers before doing anything that depends on whether the
 * address exists (the lookup, token and mail run after the answer), so unknown and known addresses
 * get the same answer in the same time. Reset spends the single-use token, replaces the password,
 * bumps the token version and revokes every session in one transaction, writes Redis through
 * before answering (G1), and signs nobody in.
 */
export class PasswordResetService {
  constructor(private readonly deps: ApiDeps) {}

  forgot(email: string): void {
    setImmediate(() => {
      this.sendResetLink(email).catch((err: unknown) => this.deps.logger.warn({ err: String(err) }, 'password reset mail failed'));
    });
  }

  private async sendResetLink(email: string): Promise<void> {
    const { db, config, mailer } = this.deps;
    const [user] = await db.query<{ id: string; email: string }>('SELECT id, email FROM users WHERE email_normalized = :e', {
      type: QueryTypes.SELECT,
      replacements: { e: normalizeEmail(email) },
    });
    if (!user) return;
    const token = await createOneTimeToken(db, null, user.id, 'password_reset');
    const link = `${config.publicUrl}/reset-password?token=${token}`;
    await mailer.send({
      to: user.email,
      kind: 'password_reset',
      subject: 'Reset your password',
      text: `Someone asked to reset the password of your account. If it was you, open this link within 30 minutes: ${link}. Otherwise ignore this message.`,
      link,
    });
  }

  async reset(input: { token: string; newPassword: string }, ctx: RequestContext): Promise<void> {
    const { db, revocations } = this.deps;
    const passwordHash = await hashPassword(input.newPassword);
    const out = await db.transaction(async (t) => {
      const userId = await consumeOneTimeToken(db, t, input.token, 'password_reset');
      if (!userId) throw new AppError('validation_failed', { publicDetail: INVALID_LINK });
      const [user] = await db.query<{ email: string }>(
        `UPDATE users SET password_hash = :hash, password_reset_required = false,
           email_verified_at = COALESCE(email_verified_at, now()), updated_at = now()
         WHERE id = :userId RETURNING email`,
        { type: QueryTypes.SELECT, transaction: t, replacements: { userId, hash: passwordHash } },
      );
      // Every other reset link of this user dies with this one.
      await db.query(
        "UPDATE one_time_tokens SET used_at = now() WHERE user_id = :userId AND purpose = 'password_reset' AND used_at IS NULL",
        { transaction: t, replacements: { userId } },
      );
      const revoked = await revocations.bumpAndRevoke(t, userId, {}, 'password_reset');
      const event = buildEvent({
        type: 'user.password_changed',
        source: 'api',
        actor: { type: 'user', id: userId },
        requestId: ctx.requestId,
        ip: ctx.ip,
        userAgent: ctx.userAgent,
        data: { userId },
      });
      await insertOutboxEvent(db, t, event);
      return { userId, email: user!.email, revoked, event };
    });
    await afterPasswordCommit(this.deps, out.revoked, out.event, out.email);
  }

  async verifyEmail(token: string): Promise<void> {
    const { db } = this.deps;
    await db.transaction(async (t) => {
      const userId = await consumeOneTimeToken(db, t, token, 'email_verification');
      if (!userId) throw new AppError('validation_failed', { publicDetail: INVALID_LINK });
      await db.query('UPDATE users SET email_verified_at = COALESCE(email_verified_at, now()), updated_at = now() WHERE id = :userId', {
        transaction: t,
        replacements: { userId },
      });
    });
  }
}
