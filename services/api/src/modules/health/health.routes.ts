import { Router } from 'express';
import { migrationsCurrent } from '../../../../../shared/src/db/migrator';
import { pingAll } from '../../../../../shared/src/redis/nodes';
import type { ApiDeps } from '../../deps';

async function probe(check: () => Promise<unknown>, timeoutMs = 1_000): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([check(), new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('timeout')), timeoutMs)))]);
    return true;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/** `/healthz` (the process answers) and `/readyz` (Postgres, Redis, queue and migrations are fine). */
export function healthRoutes(deps: ApiDeps): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    const [postgres, redis, queue] = await Promise.all([
      probe(() => deps.db.query('SELECT 1')),
      // Every master of a Redis Cluster: one unreachable master means some users' state is.
      probe(() => pingAll(deps.redis)),
      probe(() => deps.producer.queue.getJobCounts('waiting')),
    ]);
    const migrations = postgres && (await probe(() => migrationsCurrent(deps.db).then((ok) => (ok ? ok : Promise.reject(new Error('pending'))))));
    const checks = { postgres, redis, queue, migrations };
    const ready = Object.values(checks).every(Boolean);
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not_ready', checks });
  });
  return router;
}
