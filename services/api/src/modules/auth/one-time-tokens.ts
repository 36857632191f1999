import { QueryTypes, type Sequelize, type Transaction } from 'sequelize';
import { randomSecret, sha256 } from '../../../../../shared/src/tokens/sealing';

export type OneTimePurpose = 'password_reset' | 'email_verification';

/** How long each kind of emailed secret stays valid (contract section 2). */
export const ONE_TIME_TTL_SECONDS: Record<OneTimePurpose, number> = {
  password_reset: 30 * 60,
  email_verification: 24 * 3600,
};

/** Creates a single-use secret for a user; only its hash is stored. Returns the raw token. */
export async function createOneTimeToken(db: Sequelize, t: Transaction | null, userId: string, purpose: OneTimePurpose): Promise<string> {
  const token = randomSecret(32);
  await db.query(
    `INSERT INTO one_time_tokens (user_id, purpose, token_hash, expires_at)
     VALUES (:userId, :purpose, :hash, now() + make_interval(secs => :ttl))`,
    { transaction: t ?? undefined, replacements: { userId, purpose, hash: sha256(token), ttl: ONE_TIME_TTL_SECONDS[purpose] } },
  );
  return token;
}

/** Spends a token: returns its user id once, and never again; undefined when unknown, used or expired. */
export async function consumeOneTimeToken(db: Sequelize, t: Transaction, token: string, purpose: OneTimePurpose): Promise<string | undefined> {
  const [row] = await db.query<{ user_id: string }>(
    `UPDATE one_time_tokens SET used_at = now()
     WHERE token_hash = :hash AND purpose = :purpose AND used_at IS NULL AND expires_at > now()
     RETURNING user_id`,
    { type: QueryTypes.SELECT, transaction: t, replacements: { hash: sha256(token), purpose } },
  );
  return row?.user_id;
}
