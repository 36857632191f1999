import { randomUUID } from 'node:crypto';
import type { Response } from 'express';
import { ERROR_CODES, type ErrorCode } from './codes';

const VALID_REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

/** The caller's `X-Request-Id` when it is well formed (1 to 128 of `A-Za-z0-9._-`), otherwise a new one. */
export function requestIdOf(incoming: string | undefined): string {
  return incoming && VALID_REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

/**
 * The RFC 9457 problem+json body of the contract: `{type, title, status, code, detail?, requestId}`,
 * and any `extensions` (RFC 9457's extension members; they never replace those).
 */
export function problemBody(
  code: ErrorCode,
  options: { requestId: string; title?: string; detail?: string; extensions?: Record<string, unknown> },
): string {
  const { status, title } = ERROR_CODES[code];
  return JSON.stringify({
    ...options.extensions,
    type: `https://latchkey.dev/problems/${code.replace(/_/g, '-')}`,
    title: options.title ?? title,
    status,
    code,
    ...(options.detail ? { detail: options.detail } : {}),
    requestId: options.requestId,
  });
}

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
