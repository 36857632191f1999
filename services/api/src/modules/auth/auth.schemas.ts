import { z } from 'zod';
import { emailInput } from '../../../../../shared/src/security/emails';
import { PASSWORD_MAX, isCommonPassword, passwordInput } from '../../../../../shared/src/security/passwords';

/** A new password: 12 to 128 characters (after NFKC), never truncated. */
export const newPassword = z
  .string()
  .max(PASSWORD_MAX * 4)
  .refine((p) => [...p.normalize('NFKC')].length >= 12, 'at least 12 characters')
  .refine((p) => [...p.normalize('NFKC')].length <= PASSWORD_MAX, `at most ${PASSWORD_MAX} characters`)
  .refine((p) => !isCommonPassword(p), 'too common');

export const registerBody = z.strictObject({
  email: emailInput,
  password: newPassword,
  name: z.string().trim().min(1).max(200).optional(),
});

export const loginBody = z.strictObject({
  email: z.string().max(254),
  password: passwordInput,
  organizationId: z.guid().optional(),
  deviceName: z.string().trim().min(1).max(100).optional(),
});

export const switchOrganizationBody = z.strictObject({ organizationId: z.guid() });
