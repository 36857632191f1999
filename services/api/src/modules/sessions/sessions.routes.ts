import { Router } from 'express';
import { z } from 'zod';
import type { ApiDeps } from '../../deps';
import { authenticate } from '../../http/authenticate';
import { contextOf } from '../../http/request-context';
import { parse } from '../../http/validate';
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
    const { id } = parse(sessionParams, req.params);
    await sessions.revoke(req.auth!.sub, id, 'revoked_by_user', contextOf(req));
    res.status(204).end();
  });
  return router;
}
