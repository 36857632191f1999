import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';

/** AES-256-GCM: 12-byte nonce, 16-byte tag, ciphertext; `key` must be 32 bytes. */
export function seal(plaintext: Buffer, key: Buffer): Buffer {
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([nonce, cipher.getAuthTag(), body]);
}

/** Opens what `seal` produced; throws when the key is wrong or the data was altered. */
export function unseal(sealed: Buffer, key: Buffer): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, 12));
  decipher.setAuthTag(sealed.subarray(12, 28));
  return Buffer.concat([decipher.update(sealed.subarray(28)), decipher.final()]);
}

/** Derives a 32-byte key for one purpose from a secret (HKDF-SHA256). */
export function deriveKey(secret: string | Buffer, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), `latchkey:${purpose}`, 32));
}

/** SHA-256 of a secret: how refresh tokens, reset tokens and service secrets are stored. */
export function sha256(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** A fresh opaque secret: `bytes` from the CSPRNG, base64url. */
export function randomSecret(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}
