import type { RequestHandler } from 'express';
import { AppError } from '../../../../shared/src/errors/app-error';

/**
 * Refuses cross-site requests on routes a cookie authenticates (and on login): a browser-declared
 * `Sec-Fetch-Site: cross-site`, or an `Origin` that is neither in ALLOWED_ORIGINS nor the API's
 * own origin as this request reached it (scheme as Express reads it, honouring `trust proxy`, and
 * the Host header), gets 403 csrf_invalid. A page of the API's own origin is never cross-site,
 * whichever name (localhost, 127.0.0.1, a public host) it was served under.
 */
export function crossSiteGuard(allowedOrigins: readonly string[]): RequestHandler {
  const allowed = new Set(allowedOrigins);
  return (req, _res, next) => {
    const site = req.get('sec-fetch-site');
    const origin = req.get('origin');
    if (site === 'cross-site') return next(new AppError('csrf_invalid', { detail: 'Sec-Fetch-Site: cross-site' }));
    if (origin !== undefined && !allowed.has(origin) && origin !== `${req.protocol}://${req.get('host')}`) return next(new AppError('csrf_invalid', { detail: `origin ${origin}` }));
    next();
  };
}
