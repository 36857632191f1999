import { Router } from 'express';
import { Membership, Organization, User } from '../../../../../shared/src/db/models';
import { AppError } from '../../../../../shared/src/errors/app-error';
import type { ApiDeps } from '../../deps';
import { authenticate } from '../../http/authenticate';
import { toPublicUser } from '../auth/token-response';

/** `GET /me`: who the token speaks for, in which organization, with which permissions. */
export function meRoutes(deps: ApiDeps): Router {
  const router = Router();
  router.get('/', authenticate(deps.verifier), async (req, res) => {
    const { sub, org, mid, pv } = req.auth!;
    const [user, organization, membership, permissions] = await Promise.all([
      User.findByPk(sub),
      org ? Organization.findByPk(org) : null,
      mid ? Membership.findByPk(mid) : null,
      mid && pv ? deps.permissions.get(mid, pv) : [],
    ]);
    if (!user) throw new AppError('session_revoked');
    res.setHeader('Cache-Control', 'no-store');
    res.json({
      user: toPublicUser(user),
      organization: organization ? { id: organization.id, name: organization.name } : null,
      membership: membership ? { id: membership.id, role: membership.role } : null,
      permissions,
    });
  });
  return router;
}
