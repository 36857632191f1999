import type { RequestHandler } from 'express';
import { AppError } from '../../../../../shared/src/errors/app-error';
import type { ServiceScope } from '../../../../../shared/src/security/service-credentials';
import { grants } from '../../../../../shared/src/verify/permissions';
import type { ApiDeps } from '../../deps';
import { authenticate } from '../../http/authenticate';
import { presentsServiceCredential, requireServiceScope } from '../../http/authenticate-service';

/** Who is managing an organization: a product backend (every organization) or a member (its own). */
export type OrganizationActor =
  | { type: 'service'; id: string }
  | { type: 'user'; userId: string; organizationId: string; permissions: string[] };

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      organizationActor?: OrganizationActor;
    }
  }
}

/**
 * Admits a service credential holding `scope`, or a user access token whose organization is the
 * one in the path (`:id`) and whose permissions grant one of `permissions`. Tenant isolation: a
 * token for organization A never authorizes a request about organization B (403 forbidden), so an
 * admin of A cannot list, add or re-role members of B.
 */
export function organizationAccess(deps: ApiDeps, scope: ServiceScope, permissions: string[]): RequestHandler {
  const service = requireServiceScope(scope);
  const user = authenticate(deps.verifier);
  return (req, res, next) => {
    if (presentsServiceCredential(req.get('authorization'))) {
      return service(req, res, (err?: unknown) => {
        if (err) return next(err);
        req.organizationActor = { type: 'service', id: req.service!.id };
        next();
      });
    }
    return user(req, res, (err?: unknown) => {
      if (err) return next(err);
      void admitMember(deps, req.auth!, String(req.params.id ?? ''), permissions)
        .then((actor) => {
          req.organizationActor = actor;
          next();
        })
        .catch(next);
    });
  };
}

async function admitMember(
  deps: ApiDeps,
  claims: NonNullable<Express.Request['auth']>,
  organizationId: string,
  required: string[],
): Promise<OrganizationActor> {
  if (!claims.org || !claims.mid || claims.pv === undefined || claims.org !== organizationId) {
    throw new AppError('forbidden', { publicDetail: 'This token does not act in that organization.' });
  }
  const permissions = await deps.permissions.get(claims.mid, claims.pv);
  if (!required.some((p) => grants(permissions, p))) {
    throw new AppError('forbidden', { publicDetail: `Requires the permission ${required.join(' or ')}.` });
  }
  return { type: 'user', userId: claims.sub, organizationId, permissions };
}

/** A member may hand out only what they hold themselves (no privilege escalation through roles). */
export function assertMayGrant(actor: OrganizationActor, permissions: readonly string[]): void {
  if (actor.type === 'service') return;
  const beyond = permissions.filter((p) => !grantsPattern(actor.permissions, p));
  if (beyond.length > 0) {
    throw new AppError('forbidden', { publicDetail: `You cannot grant permissions you do not hold: ${beyond.slice(0, 5).join(', ')}.` });
  }
}

/** Whether `held` covers the (possibly wildcard) permission `p`. */
function grantsPattern(held: readonly string[], p: string): boolean {
  if (held.includes('*')) return true;
  if (p === '*') return false;
  const [resource, action] = p.split(':');
  if (action === '*') return held.includes(`${resource}:*`);
  return grants(held, p);
}
