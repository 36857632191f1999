import csurf from 'csurf';
import type { RequestHandler } from 'express';

/** The CSRF secret cookie: signed, host-only, HTTPS-only, invisible to scripts. */
export const CSRF_COOKIE = '__Host-lk_csrf';

/**
 * The one place csurf is used. The secret lives in a signed `__Host-` cookie; the token is read
 * from the `X-CSRF-Token` header only (never the query string or the body). Requires
 * cookie-parser with a secret to run first.
 */
export function csrfProtection(): RequestHandler {
  return csurf({
    cookie: { key: CSRF_COOKIE, httpOnly: true, secure: true, sameSite: 'strict', signed: true, path: '/' },
    value: (req) => req.get('x-csrf-token') ?? '',
  }) as RequestHandler;
}
