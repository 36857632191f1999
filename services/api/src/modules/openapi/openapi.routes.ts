import { Router } from 'express';
import type { ApiDeps } from '../../deps';
import { buildOpenApi } from './openapi';

/** `GET /openapi.json`: the OpenAPI 3.1 description of every route, built once. */
export function openApiRoutes(deps: ApiDeps): Router {
  const router = Router();
  let document: string | undefined;
  router.get('/openapi.json', (_req, res) => {
    document ??= JSON.stringify(buildOpenApi(deps.config.publicUrl));
    res.type('application/json').send(document);
  });
  return router;
}
