import { Router } from 'express';
import type { ApiDeps } from '../../deps';

/**
 * `GET /.well-known/jwks.json`: the signing key and the previous ones still inside their window.
 * Cacheable, but revalidated on every use (`no-cache`, with Express's ETag: a 304 while unchanged):
 * after `keys rotate` the API signs with the new key at once, and a cache holding the old set would
 * make verifiers behind it refuse those tokens until it expired.
 */
export function jwksRoutes(deps: ApiDeps): Router {
  const router = Router();
  router.get('/jwks.json', (_req, res) => {
    res.setHeader('Cache-Control', 'public, no-cache');
    res.json(deps.keyRing.publicJwks());
  });
  return router;
}
