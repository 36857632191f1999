import type { RequestHandler } from 'express';

const ALLOW_METHODS = 'GET, HEAD, POST, PUT, PATCH, DELETE';
const ALLOW_HEADERS = 'Authorization, Content-Type, X-CSRF-Token, X-Request-Id';
const EXPOSE_HEADERS = 'X-Request-Id, WWW-Authenticate, Retry-After';
const PREFLIGHT_MAX_AGE = '600';

/**
 * CORS for first-party browser apps on other origins: credentials (the refresh and CSRF cookies)
 * are allowed only for the exact origins in ALLOWED_ORIGINS, never with a wildcard, never by
 * reflecting an unknown origin. A preflight from any other origin gets no CORS headers, so the
 * browser never sends the request. (Refusing simple cross-site requests that do reach us is the
 * cross-site guard's job, not this one's.)
 */
export function cors(allowedOrigins: readonly string[]): RequestHandler {
  const allowed = new Set(allowedOrigins);
  return (req, res, next) => {
    res.vary('Origin');
    const origin = req.get('origin');
    const trusted = origin !== undefined && allowed.has(origin);
    const preflight = req.method === 'OPTIONS' && req.get('access-control-request-method') !== undefined;
    if (trusted) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Access-Control-Allow-Credentials', 'true');
      if (!preflight) res.setHeader('Access-Control-Expose-Headers', EXPOSE_HEADERS);
    }
    if (!preflight) return next();
    res.vary('Access-Control-Request-Headers');
    if (trusted) {
      res.setHeader('Access-Control-Allow-Methods', ALLOW_METHODS);
      res.setHeader('Access-Control-Allow-Headers', ALLOW_HEADERS);
      res.setHeader('Access-Control-Max-Age', PREFLIGHT_MAX_AGE);
    }
    res.status(204).end();
  };
}
