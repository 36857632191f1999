import { randomUUID } from 'node:crypto';
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
