import { Router } from 'express';
import { z } from 'zod';
import { AppError } from '../../../../../shared/src/errors/app-error';
import type { ApiDeps } from '../../deps';
import { authenticate } from '../../http/authenticate';
import { contextOf } from '../../http/request-context';
import { SessionsService } from './sessions.service';

const sessionParams = z.object({ id: z.guid() });

/** `/sessions`: a user's own devices, listed and revoked one by one. */
export function sessionsRoutes(deps: ApiDeps): Router {
  const router = Router();
  const sessions = new SessionsService(deps);
  router.use(authenticate(deps.verifier));

  router.get('/', async (req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    res.json({ sessions: await sessions.list(req.auth!.sub, req.auth!.sid) });
  });

  router.delete('/:id', async (req, res) => {
    // An id that is not a UUID is no session of this user's: the same 404 as someone else's.
    const parsed = sessionParams.safeParse(req.params);
    if (!parsed.success) throw new AppError('not_found');
    await sessions.revoke(req.auth!.sub, parsed.data.id, 'revoked_by_user', contextOf(req));
    res.status(204).end();
  });
  return router;
}
