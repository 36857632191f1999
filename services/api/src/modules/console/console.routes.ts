import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Router, type RequestHandler } from 'express';
import { QueryTypes } from 'sequelize';
import { grants } from '../../../../../shared/src/verify/permissions';
import type { ApiDeps } from '../../deps';
import { authenticate } from '../../http/authenticate';

/** The console's static files (next to this file in the source tree; `dist/` builds look there too). */
function staticDir(): string {
  const here = path.join(__dirname, 'static');
  return existsSync(here) ? here : here.replace(`${path.sep}dist${path.sep}`, path.sep);
}

/** A file read once and kept; `no-cache` so a new deployment is picked up on the next load. */
function serveFile(name: string, type: string): RequestHandler {
  let loaded: Promise<string> | undefined;
  return async (_req, res) => {
    loaded ??= readFile(path.join(staticDir(), name), 'utf8');
    loaded.catch(() => {
      loaded = undefined;
    });
    res.set('Cache-Control', 'no-cache');
    res.type(type).send(await loaded);
  };
}

/**
 * The security team's web console at `/console`: one HTML page, an external script and a
 * stylesheet (the CSP of app.ts allows no inline script or style). It signs in through
 * `/auth/login`, keeps the access token in memory only, and reads `/v1/audit-logs*`.
 * `GET /console/memberships` lists the signed-in user's active organizations (with whether their
 * role grants `audit:read`) so the reviewer can pick one; it needs a token, with or without `org`.
 */
export function consoleRoutes(deps: ApiDeps): Router {
  const router = Router();
  router.get('/console', serveFile('index.html', 'html'));
  router.get('/console/console.js', serveFile('console.js', 'text/javascript'));
  router.get('/console/console.css', serveFile('console.css', 'text/css'));
  router.get('/console/memberships', authenticate(deps.verifier), async (req, res) => {
    const rows = await deps.db.query<{ organization_id: string; name: string; role: string; permissions: string[] | null }>(
      `SELECT m.organization_id, o.name, m.role, r.permissions
       FROM memberships m
       JOIN organizations o ON o.id = m.organization_id AND o.status = 'active'
       LEFT JOIN LATERAL (
         SELECT permissions FROM roles
         WHERE name = m.role AND (organization_id = m.organization_id OR organization_id IS NULL)
         ORDER BY organization_id NULLS LAST LIMIT 1
       ) r ON true
       WHERE m.user_id = :sub AND m.status = 'active'
       ORDER BY o.name LIMIT 200`,
      { type: QueryTypes.SELECT, replacements: { sub: req.auth!.sub } },
    );
    res.set('Cache-Control', 'no-store');
    res.json({
      memberships: rows.map((r) => ({
        organizationId: r.organization_id,
        organizationName: r.name,
        role: r.role,
        auditRead: grants(r.permissions ?? [], 'audit:read'),
      })),
    });
  });
  return router;
}
