import type { Response } from 'express';
import { ERROR_CODES, type ErrorCode } from '../../../../shared/src/errors/codes';
import { problemBody } from '../../../../shared/src/errors/problem';

const TOKEN_REFUSALS = new Set<string>([
  'invalid_token', 'token_expired', 'token_version_stale', 'permissions_stale', 'session_revoked',
  'session_expired', 'user_suspended', 'organization_suspended', 'membership_inactive',
]);

/**
 * Writes an RFC 9457 problem+json body with the contract's stable code. A 401 carries
 * `WWW-Authenticate` when it refuses an access token, and on a protected route (`bearer`: the
 * request was authenticated by one) whatever the code, as the contract asks of every such 401.
 */
export function sendProblem(
  res: Response,
  code: ErrorCode,
  options: { requestId: string; message?: string; detail?: string; retryAfter?: number; bearer?: boolean; extensions?: Record<string, unknown> },
): void {
  const { status } = ERROR_CODES[code];
  if (TOKEN_REFUSALS.has(code) || (status === 401 && options.bearer)) {
    res.setHeader('WWW-Authenticate', `Bearer error="invalid_token", error_description="${code}"`);
  }
  if (options.retryAfter !== undefined) res.setHeader('Retry-After', String(Math.max(1, Math.ceil(options.retryAfter))));
  res.setHeader('Cache-Control', 'no-store');
  res
    .status(status)
    .type('application/problem+json')
    .send(problemBody(code, { requestId: options.requestId, title: options.message, detail: options.detail, extensions: options.extensions }));
}
