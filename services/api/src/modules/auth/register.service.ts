import { UniqueConstraintError } from 'sequelize';
import { User } from '../../../../../shared/src/db/models';
import { normalizeEmail } from '../../../../../shared/src/security/emails';
import { hashPassword } from '../../../../../shared/src/security/passwords';
import type { ApiDeps } from '../../deps';
import { createOneTimeToken } from './one-time-tokens';

/**
 * Registration that reveals nothing: a new address gets an account and a verification link, a known
 * address gets a "someone tried to register" notice; both do one argon2 hash and answer alike.
 */
export class RegisterService {
  constructor(private readonly deps: ApiDeps) {}

  async register(input: { email: string; password: string; name?: string }): Promise<void> {
    const emailNormalized = normalizeEmail(input.email);
    const passwordHash = await hashPassword(input.password);
    const existing = await User.findOne({ where: { emailNormalized }, attributes: ['id'] });
    if (existing) return this.notifyOwner(input.email);
    let user: User;
    try {
      user = await User.create({ email: input.email, emailNormalized, name: input.name ?? null, passwordHash, emailVerifiedAt: null });
    } catch (err) {
      if (err instanceof UniqueConstraintError) return this.notifyOwner(input.email);
      throw err;
    }
    const token = await createOneTimeToken(this.deps.db, null, user.id, 'email_verification');
    const link = `${this.deps.config.publicUrl}/verify-email?token=${token}`;
    await this.deps.mailer.send({
      to: input.email,
      kind: 'email_verification',
      subject: 'Confirm your email address',
      text: `Welcome. Confirm your email address by opening this link within 24 hours: ${link}`,
      link,
    });
  }

  private async notifyOwner(email: string): Promise<void> {
    await this.deps.mailer.send({
      to: email,
      kind: 'registration_attempt',
      subject: 'Someone tried to register with your email address',
      text: 'Someone tried to create an account with this address. You already have one; nothing was changed. If this was you, sign in or reset your password.',
    });
  }
}
