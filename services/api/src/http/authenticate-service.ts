import type { RequestHandler } from 'express';
import { AppError } from '../../../../shared/src/errors/app-error';
import { findServiceClient, type ServiceScope } from '../../../../shared/src/security/service-credentials';

/** The product backend calling, once its credential is checked. */
export interface ServicePrincipal {
  id: string;
  name: string;
  scopes: string[];
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      service?: ServicePrincipal;
    }
  }
}

const SERVICE_CREDENTIAL = /^bearer (lk_svc_\S+)$/i;

/** Whether the request presents a service credential (routes open to both kinds pick the door by it). */
export function presentsServiceCredential(authorization: string | undefined): boolean {
  return /^bearer lk_svc_/i.test(authorization ?? '');
}

/**
 * Requires `Authorization: Bearer lk_svc_...` (the scheme in any case) holding `scope`: 401 invalid_token for a missing,
 * unknown or revoked credential, 403 forbidden for a credential without the scope.
 */
export function requireServiceScope(scope: ServiceScope): RequestHandler {
  return async (req, _res, next) => {
    try {
      const match = SERVICE_CREDENTIAL.exec(req.get('authorization') ?? '');
      const client = match ? await findServiceClient(match[1]!) : undefined;
      if (!client) throw new AppError('invalid_token', { detail: 'service credential missing, unknown or revoked' });
      if (!client.scopes.includes(scope)) throw new AppError('forbidden', { publicDetail: `This credential lacks the scope ${scope}.` });
      req.service = { id: client.id, name: client.name, scopes: client.scopes };
      next();
    } catch (err) {
      next(err);
    }
  };
}
