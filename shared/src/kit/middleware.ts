import type { Request, RequestHandler, Response } from 'express';
import { isAppError } from '../errors/app-error';
import type { ErrorCode } from '../errors/codes';
import { requestIdOf, sendProblem } from '../errors/problem';
import type { AccessClaims } from '../verify/auth-state';
import { grants } from '../verify/permissions';
import { KitVerifier, type VerifierOptions } from './kit-verifier';

/** What the verifier leaves on the request for the product backend's handlers. */
export interface LatchkeyAuth {
  claims: AccessClaims;
  /** The membership's permissions at the token's `pv` (cached per version). */
  permissions(): Promise<string[]>;
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      latchkey?: LatchkeyAuth;
    }
  }
}

/** The middleware, with the verifier underneath for non-HTTP uses (queues, websockets). */
export type VerifierMiddleware = RequestHandler & { verifier: KitVerifier };

const BEARER = /^Bearer ([A-Za-z0-9_.-]+)$/i;

/**
 * Express middleware factory for product backends: refuses any request whose Bearer access token
 * fails the contract's verification, with the contract's problem+json and `WWW-Authenticate`.
 */
export function createVerifier(options: VerifierOptions): VerifierMiddleware {
  const verifier = new KitVerifier(options);
  const middleware: RequestHandler = async (req, res, next) => {
    const match = BEARER.exec(req.get('authorization') ?? '');
    if (!match) return refuse(req, res, 'invalid_token');
    const token = match[1]!;
    try {
      const claims = await verifier.verify(token);
      req.latchkey = { claims, permissions: () => verifier.permissions(token, claims) };
    } catch (err) {
      return refuse(req, res, codeOf(err));
    }
    next();
  };
  return Object.assign(middleware, { verifier });
}

/**
 * Requires a permission of the token's membership (`resource:action`; `*` and `resource:*` grant).
 * 403 `forbidden` when the role lacks it or the token has no organization; 401 `permissions_stale`
 * when the version moved since the token was issued (the client refreshes and retries).
 */
export function requirePermission(permission: string): RequestHandler {
  return async (req: Request, res, next) => {
    const auth = req.latchkey;
    if (!auth) return refuse(req, res, 'invalid_token');
    if (!auth.claims.mid) return refuse(req, res, 'forbidden');
    let permissions: string[];
    try {
      permissions = await auth.permissions();
    } catch (err) {
      return refuse(req, res, codeOf(err));
    }
    if (!grants(permissions, permission)) return refuse(req, res, 'forbidden');
    next();
  };
}

function codeOf(err: unknown): ErrorCode {
  return isAppError(err) ? err.code : 'service_unavailable';
}

/**
 * The contract's problem+json (as the API answers it: every 401 with `WWW-Authenticate`). Its
 * requestId is the response's `X-Request-Id` when the product backend set one, otherwise the
 * caller's (when well formed) or a new one, then echoed.
 */
function refuse(req: Request, res: Response, code: ErrorCode): void {
  const set = res.getHeader('X-Request-Id');
  const requestId = typeof set === 'string' ? set : requestIdOf(req.get('x-request-id'));
  res.setHeader('X-Request-Id', requestId);
  sendProblem(res, code, { requestId, bearer: true });
}
