import type { RequestHandler } from 'express';
import { AppError } from '../../../../../shared/src/errors/app-error';
import { grants } from '../../../../../shared/src/verify/permissions';
import type { ApiDeps } from '../../deps';
import { authenticate } from '../../http/authenticate';
import { presentsServiceCredential, requireServiceScope } from '../../http/authenticate-service';

/** Who reads the audit log, and how far they may see. */
export interface AuditReader {
  /** Recorded as the actor of `audit.exported`. */
  actor: { type: 'user' | 'service'; id: string };
  /** Set for a user: every query is confined to the organization of their token. */
  organizationId?: string;
  userId?: string;
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      auditReader?: AuditReader;
    }
  }
}

/**
 * The security team's door, accepting either credential of the contract:
 * - a service credential (`Bearer lk_svc_...`) with scope `audit:read`: sees every organization;
 * - a user access token (full verification) whose membership role grants `audit:read`: sees the
 *   organization of the token only. A token without an organization grants nothing (403).
 */
export function requireAuditReader(deps: ApiDeps): RequestHandler {
  const service = requireServiceScope('audit:read');
  const user = authenticate(deps.verifier);
  return (req, res, next) => {
    if (presentsServiceCredential(req.get('authorization'))) {
      service(req, res, (err?: unknown) => {
        if (err) return next(err);
        req.auditReader = { actor: { type: 'service', id: req.service!.id } };
        next();
      });
      return;
    }
    user(req, res, (err?: unknown) => {
      if (err) return next(err);
      const { sub, org, mid, pv } = req.auth!;
      if (!org || !mid || !pv) return next(new AppError('forbidden', { publicDetail: 'Sign in to an organization to read its audit log.' }));
      deps.permissions.get(mid, pv).then(
        (permissions) => {
          if (!grants(permissions, 'audit:read')) return next(new AppError('forbidden', { publicDetail: 'Your role does not grant audit:read.' }));
          req.auditReader = { actor: { type: 'user', id: sub }, organizationId: org, userId: sub };
          next();
        },
        (e: unknown) => next(e),
      );
    });
  };
}

/**
 * Confines a requested organization to the reader's: a user asking for another organization gets
 * 403 (not an empty page, so a mistake is visible); a service may ask for any or none.
 */
export function scopedOrganization(reader: AuditReader, requested: string | undefined): string | undefined {
  if (!reader.organizationId) return requested;
  if (requested && requested !== reader.organizationId) {
    throw new AppError('forbidden', { publicDetail: 'You may only read the audit log of your organization.' });
  }
  return reader.organizationId;
}
