import type { RequestHandler } from 'express';
import { AppError } from '../../../../shared/src/errors/app-error';

/**
 * Refuses cross-site requests on routes a cookie authenticates (and on login): a browser-declared
 * `Sec-Fetch-Site: cross-site`, or an `Origin` outside ALLOWED_ORIGINS, gets 403 csrf_invalid.
 */
export function crossSiteGuard(allowedOrigins: readonly string[]): RequestHandler {
  const allowed = new Set(allowedOrigins);
  return (req, _res, next) => {
    const site = req.get('sec-fetch-site');
    const origin = req.get('origin');
    if (site === 'cross-site') return next(new AppError('csrf_invalid', { detail: 'Sec-Fetch-Site: cross-site' }));
    if (origin !== undefined && !allowed.has(origin)) return next(new AppError('csrf_invalid', { detail: `origin ${origin}` }));
    next();
  };
}
