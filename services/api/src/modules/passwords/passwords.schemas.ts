import { z } from 'zod';
import { passwordInput } from '../../../../../shared/src/security/passwords';
import { newPassword } from '../auth/auth.schemas';

/** An emailed secret as it appears in a link: base64url of 32 bytes (bounded before any lookup). */
const emailedToken = z.string().regex(/^[A-Za-z0-9_-]{20,128}$/);

export const changePasswordBody = z.strictObject({
  currentPassword: passwordInput,
  newPassword,
  keepCurrentSession: z.boolean().default(true),
});

export const forgotPasswordBody = z.strictObject({ email: z.string().max(254) });

export const resetPasswordBody = z.strictObject({ token: emailedToken, newPassword });

export const verifyEmailBody = z.strictObject({ token: emailedToken });
