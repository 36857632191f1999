import { Router } from 'express';
import type { ApiDeps } from '../../deps';

/** `GET /.well-known/jwks.json`: the signing key and the previous ones still inside their window. */
export function jwksRoutes(deps: ApiDeps): Router {
  const router = Router();
  router.get('/jwks.json', (_req, res) => {
    res.setHeader('Cache-Control', 'public, max-age=300');
    res.json(deps.keyRing.publicJwks());
  });
  return router;
}
