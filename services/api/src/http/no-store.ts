import type { RequestHandler } from 'express';

/**
 * `Cache-Control: no-store` on every response of a router that hands out tokens (access tokens,
 * CSRF tokens, the refresh cookie), so no browser or proxy cache keeps one, whichever route of
 * that router answers, including ones added later.
 */
export const noStore: RequestHandler = (_req, res, next) => {
  res.setHeader('Cache-Control', 'no-store');
  next();
};
