import { Router } from 'express';
import { z } from 'zod';
import { isAppError } from '../../../../../shared/src/errors/app-error';
import type { ApiDeps } from '../../deps';
import { requireServiceScope } from '../../http/authenticate-service';
import { jsonBody } from '../../http/json-body';
import { parse } from '../../http/validate';

const introspectBody = z.object({
  token: z.string().min(1).max(8192),
  token_type_hint: z.string().max(50).optional(),
});

/**
 * `POST /v1/introspect` (RFC 7662) for product backends that do not verify tokens themselves, and
 * for the kit when its Redis lacks a key. The full contract verification runs (signature, session,
 * versions, statuses, `pv`); any refusal answers exactly `{active:false}`, never the reason, so
 * introspection cannot be used to probe why a token fails. When the verification state cannot be
 * read at all the answer is 503, never `active:true`.
 *
 * An active answer adds the membership's current `permissions`, read through the same versioned
 * cache as `/me`, so a product backend without Postgres can authorize without a second call.
 */
export function introspectRoutes(deps: ApiDeps): Router {
  const router = Router();
  router.post('/', requireServiceScope('introspect'), jsonBody, async (req, res) => {
    const { token } = parse(introspectBody, req.body);
    res.setHeader('Cache-Control', 'no-store');
    let claims;
    try {
      claims = await deps.verifier.verify(token);
    } catch (err) {
      if (isAppError(err) && err.status === 401) return void res.json({ active: false });
      throw err;
    }
    let permissions: string[] | undefined;
    if (claims.mid && claims.pv !== undefined) {
      try {
        permissions = await deps.permissions.get(claims.mid, claims.pv);
      } catch (err) {
        // The version moved between the two reads: the token is stale now.
        if (isAppError(err) && err.status === 401) return void res.json({ active: false });
        throw err;
      }
    }
    res.json({
      active: true,
      token_type: 'access_token',
      iss: deps.config.jwt.issuer,
      aud: deps.config.jwt.audience,
      sub: claims.sub,
      sid: claims.sid,
      tv: claims.tv,
      ...(claims.org ? { org: claims.org, mid: claims.mid, pv: claims.pv, permissions } : {}),
      iat: claims.iat,
      exp: claims.exp,
      jti: claims.jti,
    });
  });
  return router;
}
