import { z } from 'zod';
import { emailInput } from '../../../../../shared/src/security/emails';
import { PASSWORD_MAX, isCommonPassword, passwordInput } from '../../../../../shared/src/security/passwords';
import { storableText } from '../../../../../shared/src/validation/storable';

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

/**
 * An organization id as the client sent it: any bounded text. Whether it names an organization the
 * user is an active member of is a 403 `forbidden` question (contract, /auth/login), answered by
 * activeMembership, also for text that is not a uuid; only a value no request could mean is a 400.
 */
const organizationId = storableText.max(100);

export const loginBody = z.strictObject({
  email: z.string().max(254),
  password: passwordInput,
  organizationId: organizationId.optional(),
  deviceName: z.string().trim().min(1).max(100).optional(),
});

export const switchOrganizationBody = z.strictObject({ organizationId });
