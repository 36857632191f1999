import { z } from 'zod';

/** The comparable form of an email: trimmed, NFKC, lower case. */
export function normalizeEmail(email: string): string {
  return email.normalize('NFKC').trim().toLowerCase();
}

export const emailInput = z
  .string()
  .max(254)
  .transform((e) => e.trim())
  .pipe(z.email());
