import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import { QueryTypes, type Sequelize, type Transaction } from 'sequelize';
import { deriveKey, seal, unseal } from './sealing';
import { announceSigningKeysChanged } from './signing-key-notices';

import type { SigningAlgorithm } from './algorithms';

export type { SigningAlgorithm };

/** A signing key as the API uses it: private part for signing, public JWK for the JWKS. */
export interface SigningKey {
  kid: string;
  alg: SigningAlgorithm;
  publicJwk: JWK;
  privateKey: CryptoKey;
  createdAt: Date;
  retiredAt: Date | null;
}

interface KeyRow {
  kid: string;
  alg: SigningAlgorithm;
  public_jwk: JWK;
  private_jwk_sealed: Buffer;
  created_at: Date;
  retired_at: Date | null;
}

const keyGenOptions = { ES256: {}, EdDSA: { crv: 'Ed25519' }, RS256: { modulusLength: 2048 } } as const;

/**
 * Creates a key pair and stores it, private part sealed with the key-encryption secret; running
 * processes hear of it when `transaction` (or, without one, the insert's own) commits.
 */
export async function createSigningKey(db: Sequelize, alg: SigningAlgorithm, secret: string, transaction?: Transaction): Promise<string> {
  if (!transaction) return db.transaction((t) => createSigningKey(db, alg, secret, t));
  const { publicKey, privateKey } = await generateKeyPair(alg, { ...keyGenOptions[alg], extractable: true });
  const kid = `${new Date().toISOString().slice(0, 10)}-${randomUUID().slice(0, 8)}`;
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  const privateJwk = await exportJWK(privateKey);
  const sealed = seal(Buffer.from(JSON.stringify(privateJwk)), deriveKey(secret, 'signing-keys'));
  await db.query('INSERT INTO signing_keys (kid, alg, public_jwk, private_jwk_sealed) VALUES (:kid, :alg, :jwk, :sealed)', {
    replacements: { kid, alg, jwk: JSON.stringify(publicJwk), sealed },
    transaction,
  });
  await announceSigningKeysChanged(db, transaction);
  return kid;
}

/**
 * Rotation: a new key becomes the signing key, the previous ones are marked retired (they stay
 * published for `verifyWindow` seconds so tokens they signed keep verifying), and keys retired
 * longer ago than that are deleted. One transaction, so a process sees, and hears of (the notice
 * the new key's insert sends, delivered at commit), the whole change at once or none of it.
 */
export async function rotateSigningKeys(db: Sequelize, alg: SigningAlgorithm, secret: string, verifyWindow: number) {
  return db.transaction(async (transaction) => {
    const kid = await createSigningKey(db, alg, secret, transaction);
    await db.query('UPDATE signing_keys SET retired_at = now() WHERE retired_at IS NULL AND kid <> :kid', { replacements: { kid }, transaction });
    const [, deleted] = await db.query(
      `DELETE FROM signing_keys WHERE retired_at < now() - make_interval(secs => :window)`,
      { replacements: { window: verifyWindow }, transaction },
    );
    return { kid, deleted: Number((deleted as { rowCount?: number })?.rowCount ?? 0) };
  });
}

/** Every key still inside its verification window, newest first. */
export async function loadSigningKeys(db: Sequelize, secret: string, verifyWindow: number): Promise<SigningKey[]> {
  const rows = await db.query<KeyRow>(
    `SELECT * FROM signing_keys
     WHERE retired_at IS NULL OR retired_at > now() - make_interval(secs => :window)
     ORDER BY created_at DESC`,
    { type: QueryTypes.SELECT, replacements: { window: verifyWindow } },
  );
  const sealingKey = deriveKey(secret, 'signing-keys');
  return Promise.all(
    rows.map(async (r) => ({
      kid: r.kid,
      alg: r.alg,
      publicJwk: r.public_jwk,
      privateKey: (await importJWK(JSON.parse(unseal(r.private_jwk_sealed, sealingKey).toString()), r.alg)) as CryptoKey,
      createdAt: r.created_at,
      retiredAt: r.retired_at,
    })),
  );
}
