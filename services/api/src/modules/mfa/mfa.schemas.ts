import { z } from 'zod';
import { passwordInput } from '../../../../../shared/src/security/passwords';

/** A 6-digit TOTP code or a recovery code (`xxxxx-xxxxx`). */
const code = z.string().trim().min(6).max(20);

export const verifyBody = z.strictObject({ challengeId: z.string().min(1).max(64), code });
export const enrollBody = z.strictObject({ currentPassword: passwordInput });
export const confirmBody = z.strictObject({ code, currentPassword: passwordInput.optional() });
export const disableBody = z.strictObject({ currentPassword: passwordInput, code });
