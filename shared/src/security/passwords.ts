import { availableParallelism } from 'node:os';
import argon2 from 'argon2';
import { z } from 'zod';

/** OWASP's minimum for argon2id (m=19 MiB, t=2, p=1); `needsRehash` upgrades older hashes on login. */
export const ARGON2_OPTIONS = { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export const PASSWORD_MIN = 12;
export const PASSWORD_MAX = 128;

/** Unicode passwords are compared in NFKC form, so the same password typed on two keyboards matches. */
export function normalizePassword(password: string): string {
  return password.normalize('NFKC');
}

/** A password as accepted at login: bounded before any hashing, never truncated. */
export const passwordInput = z.string().min(1).max(PASSWORD_MAX * 4);

/**
 * How many argon2 computations may run at once in this process: every core it may use but one.
 * Each one holds a libuv threadpool thread and a whole core for tens of milliseconds; unbounded,
 * a burst of sign-ins fills every core and token verification on the event loop waits behind them
 * (quality target P4). Sign-ins past the limit queue here instead, in arrival order.
 */
export const HASH_CONCURRENCY = Math.max(1, availableParallelism() - 1);

let hashing = 0;
const waiting: Array<() => void> = [];

async function withHashSlot<T>(work: () => Promise<T>): Promise<T> {
  if (hashing < HASH_CONCURRENCY) hashing++;
  else await new Promise<void>((resolve) => waiting.push(resolve));
  try {
    return await work();
  } finally {
    // The slot passes straight to the next waiter, so the limit holds at every moment.
    const next = waiting.shift();
    if (next) next();
    else hashing--;
  }
}

export async function hashPassword(password: string): Promise<string> {
  return withHashSlot(() => argon2.hash(normalizePassword(password), ARGON2_OPTIONS));
}

export async function verifyPassword(hash: string, password: string): Promise<boolean> {
  try {
    return await withHashSlot(() => argon2.verify(hash, normalizePassword(password)));
  } catch {
    return false;
  }
}

export function passwordNeedsRehash(hash: string): boolean {
  try {
    return argon2.needsRehash(hash, ARGON2_OPTIONS);
  } catch {
    return true;
  }
}

let dummyHash: Promise<string> | undefined;

/** Spends the same work as a real verify for an unknown account, so timing tells nothing. */
export async function verifyAgainstDummy(password: string): Promise<false> {
  dummyHash ??= hashPassword(`dummy-${Math.random()}-${Date.now()}`);
  await verifyPassword(await dummyHash, password);
  return false;
}

let commonPasswords: Set<string> | undefined;

/**
 * True for a password found in the bundled list of ~49,000 most common passwords (from
 * zxcvbn-ts), compared case-insensitively, or made of one repeated character.
 */
export function isCommonPassword(password: string): boolean {
  if (!commonPasswords) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { dictionary } = require('@zxcvbn-ts/language-common') as { dictionary: Record<string, string[]> };
    commonPasswords = new Set(dictionary['passwords-common']!.map((p) => p.toLowerCase()));
  }
  const normalized = normalizePassword(password).toLowerCase();
  return commonPasswords.has(normalized) || /^(.)\1*$/u.test(normalized);
}
