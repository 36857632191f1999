import type { RequestHandler } from 'express';
import { AppError } from '../../../../shared/src/errors/app-error';
import type { TokenVerifier } from '../../../../shared/src/verify/token-verifier';

const SCHEME = 'Bearer ';

/** Whether the header names the Bearer scheme, in any case (RFC 9110: schemes are case-insensitive). */
export function isBearer(header: string): boolean {
  return header.startsWith(SCHEME) || header.slice(0, SCHEME.length).toLowerCase() === 'bearer ';
}

/**
 * Reads `Authorization: Bearer <token>`; undefined when absent, invalid_token when it is not a
 * bearer token or is a service credential. The token's own form is the verifier's first check
 * (strict compact JWS: anything else, whitespace included, is invalid_token there).
 */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const token = isBearer(header) ? header.slice(SCHEME.length) : '';
  if (token === '' || token.startsWith('lk_svc_')) throw new AppError('invalid_token');
  return token;
}

/** Protects a route: the full contract verification on every request, claims in `req.auth`. */
export function authenticate(verifier: TokenVerifier): RequestHandler {
  return async (req, _res, next) => {
    try {
      const token = bearerToken(req.get('authorization'));
      if (!token) throw new AppError('invalid_token', { detail: 'no bearer token' });
      req.auth = await verifier.verify(token);
      next();
    } catch (err) {
      next(err);
    }
  };
}
