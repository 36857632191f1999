import { Router } from 'express';
import { rawQuery } from '../../../../../shared/src/db/raw-connection';
import { AppError } from '../../../../../shared/src/errors/app-error';
import type { ApiDeps } from '../../deps';
import { authenticate } from '../../http/authenticate';
import { toPublicUser } from '../auth/token-response';

interface MeRow {
  id: string;
  email: string;
  name: string | null;
  email_verified_at: Date | null;
  organization_id: string | null;
  organization_name: string | null;
  membership_id: string | null;
  role: string | null;
}

/**
 * The user, and the organization and membership the token names (none when it names none), in one
 * prepared statement: `/me` is what browser apps call most.
 */
const ME = `SELECT u.id, u.email, u.name, u.email_verified_at,
    o.id AS organization_id, o.name AS organization_name, m.id AS membership_id, m.role
  FROM users u
  LEFT JOIN organizations o ON o.id = $2::uuid
  LEFT JOIN memberships m ON m.id = $3::uuid
  WHERE u.id = $1::uuid`;

/** `GET /me`: who the token speaks for, in which organization, with which permissions. */
export function meRoutes(deps: ApiDeps): Router {
  const router = Router();
  router.get('/', authenticate(deps.verifier), async (req, res) => {
    const { sub, org, mid, pv } = req.auth!;
    const [[me], permissions] = await Promise.all([
      rawQuery<MeRow>(deps.db, { name: 'lk_me', text: ME, values: [sub, org ?? null, mid ?? null] }),
      mid && pv ? deps.permissions.get(mid, pv) : [],
    ]);
    if (!me) throw new AppError('session_revoked');
    res.setHeader('Cache-Control', 'no-store');
    res.json({
      user: toPublicUser(me),
      organization: me.organization_id ? { id: me.organization_id, name: me.organization_name } : null,
      membership: me.membership_id ? { id: me.membership_id, role: me.role } : null,
      permissions,
    });
  });
  return router;
}
