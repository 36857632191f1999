import type { RequestHandler } from 'express';
import { AppError } from '../../../../shared/src/errors/app-error';
import type { TokenVerifier } from '../../../../shared/src/verify/token-verifier';

const BEARER = /^Bearer ([^\s]+)$/;

/** Reads `Authorization: Bearer <jwt>`; undefined when absent, invalid_token when malformed. */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = BEARER.exec(header);
  if (!match || match[1]!.startsWith('lk_svc_')) throw new AppError('invalid_token');
  return match[1];
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
