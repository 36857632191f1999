import { generateSecret, generateURI, verify } from 'otplib';

/** TOTP (RFC 6238, SHA-1, 6 digits, 30 s) as every authenticator app speaks it, via otplib. */
export const TOTP_PERIOD = 30;

export function newTotpSecret(): string {
  return generateSecret();
}

/** The otpauth:// URI an authenticator app reads from a QR code. */
export function totpUri(secret: string, account: string, issuer: string): string {
  return generateURI({ issuer, label: account, secret });
}

/**
 * Checks a code against the secret, allowing one step of clock drift either way, and refusing
 * any step at or before `afterTimeStep` (a code is never accepted twice). Returns the step used.
 */
export async function verifyTotp(secret: string, code: string, afterTimeStep: number): Promise<number | undefined> {
  if (!/^\d{6}$/.test(code)) return undefined;
  try {
    const result = await verify({ secret, token: code, epochTolerance: TOTP_PERIOD, afterTimeStep: afterTimeStep || undefined });
    return result.valid ? (result as unknown as { timeStep: number }).timeStep : undefined;
  } catch {
    return undefined;
  }
}
