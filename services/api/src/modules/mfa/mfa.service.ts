import { QueryTypes, type Transaction } from 'sequelize';
import { User } from '../../../../../shared/src/db/models';
import { AppError } from '../../../../../shared/src/errors/app-error';
import { verifyPassword } from '../../../../../shared/src/security/passwords';
import { newTotpSecret, totpUri, verifyTotp } from '../../../../../shared/src/security/totp';
import { deriveKey, randomSecret, seal, sha256, unseal } from '../../../../../shared/src/tokens/sealing';
import type { ApiDeps } from '../../deps';

const RECOVERY_CODES = 10;

/** Recovery codes look like `k7Qp2-xW9aB`: 50 bits, typed by hand, compared case-sensitively. */
function newRecoveryCode(): string {
  const raw = randomSecret(8).replace(/[-_]/g, 'x').slice(0, 10);
  return `${raw.slice(0, 5)}-${raw.slice(5)}`;
}

/**
 * TOTP enrolment, confirmation, removal and checking. The secret is sealed at rest with the
 * key-encryption secret; recovery codes are stored hashed and spent once.
 */
export class MfaService {
  private readonly sealingKey: Buffer;
  constructor(private readonly deps: ApiDeps) {
    this.sealingKey = deriveKey(deps.config.jwt.keyEncryptionSecret, 'mfa-secrets');
  }

  async enroll(userId: string, currentPassword: string): Promise<{ secret: string; otpauthUri: string }> {
    const user = await this.userWithPassword(userId, currentPassword);
    if (user.mfaEnabledAt) throw new AppError('conflict', { publicDetail: 'Two-factor authentication is already enabled.' });
    const secret = newTotpSecret();
    await user.update({ mfaPendingSecretSealed: seal(Buffer.from(secret), this.sealingKey) });
    return { secret, otpauthUri: totpUri(secret, user.email, 'Latchkey') };
  }

  async confirm(userId: string, code: string, currentPassword?: string): Promise<{ recoveryCodes: string[] }> {
    const user = currentPassword !== undefined ? await this.userWithPassword(userId, currentPassword) : await User.findByPk(userId);
    if (!user?.mfaPendingSecretSealed) throw new AppError('conflict', { publicDetail: 'Start the enrolment first.' });
    const secret = unseal(user.mfaPendingSecretSealed, this.sealingKey).toString();
    const step = await verifyTotp(secret, code, 0);
    if (step === undefined) throw new AppError('mfa_invalid');
    const recoveryCodes = Array.from({ length: RECOVERY_CODES }, newRecoveryCode);
    await this.deps.db.transaction(async (t) => {
      await user.update(
        { mfaSecretSealed: user.mfaPendingSecretSealed, mfaPendingSecretSealed: null, mfaEnabledAt: new Date(), mfaLastTimeStep: step },
        { transaction: t },
      );
      await this.replaceRecoveryCodes(t, userId, recoveryCodes);
    });
    return { recoveryCodes };
  }

  async disable(userId: string, currentPassword: string, code: string): Promise<void> {
    const user = await this.userWithPassword(userId, currentPassword);
    if (!user.mfaEnabledAt) throw new AppError('conflict', { publicDetail: 'Two-factor authentication is not enabled.' });
    if (!(await this.checkCode(user, code))) throw new AppError('mfa_invalid');
    await this.deps.db.transaction(async (t) => {
      await user.update({ mfaSecretSealed: null, mfaPendingSecretSealed: null, mfaEnabledAt: null }, { transaction: t });
      await this.replaceRecoveryCodes(t, userId, []);
    });
  }

  /** A TOTP code (never one already used) or an unused recovery code, spent atomically. */
  async checkCode(user: User, code: string): Promise<boolean> {
    if (!user.mfaSecretSealed) return false;
    if (/^\d{6}$/.test(code)) {
      const secret = unseal(user.mfaSecretSealed, this.sealingKey).toString();
      const step = await verifyTotp(secret, code, user.mfaLastTimeStep);
      if (step === undefined) return false;
      // Conditional update: of two requests racing with one code, only one moves the step.
      const [, meta] = await this.deps.db.query(
        'UPDATE users SET mfa_last_time_step = :step WHERE id = :id AND mfa_last_time_step < :step',
        { replacements: { step, id: user.id } },
      );
      return Number((meta as { rowCount?: number }).rowCount) === 1;
    }
    const spent = await this.deps.db.query(
      'UPDATE mfa_recovery_codes SET used_at = now() WHERE user_id = :id AND code_hash = :hash AND used_at IS NULL RETURNING id',
      { type: QueryTypes.SELECT, replacements: { id: user.id, hash: sha256(code.trim()) } },
    );
    return spent.length === 1;
  }

  /**
   * The signed-in user, when `password` is their current one. A wrong one is 403 forbidden, as in
   * the password change: a 401 would tell the client to sign in again, and the session is fine.
   */
  private async userWithPassword(userId: string, password: string): Promise<User> {
    const user = await User.findByPk(userId);
    if (!user || !(await verifyPassword(user.passwordHash, password))) {
      throw new AppError('forbidden', { publicDetail: 'The current password is not correct.' });
    }
    return user;
  }

  private async replaceRecoveryCodes(t: Transaction, userId: string, codes: string[]): Promise<void> {
    await this.deps.db.query('DELETE FROM mfa_recovery_codes WHERE user_id = :userId', { transaction: t, replacements: { userId } });
    for (const code of codes) {
      await this.deps.db.query('INSERT INTO mfa_recovery_codes (user_id, code_hash) VALUES (:userId, :hash)', {
        transaction: t,
        replacements: { userId, hash: sha256(code) },
      });
    }
  }
}
