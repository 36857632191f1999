import { Router } from 'express';
import { migrationsCurrent } from '../../../../../shared/src/db/migrator';
import { pingAll } from '../../../../../shared/src/redis/nodes';
import type { ApiDeps } from '../../deps';
import { sendProblem } from '../../../../../shared/src/errors/problem';

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
  router.get('/readyz', async (req, res) => {
    const [postgres, redis, queue] = await Promise.all([
      probe(() => deps.db.query('SELECT 1')),
      // Every master of a Redis Cluster: one unreachable master means some users' state is.
      probe(() => pingAll(deps.redis)),
      probe(() => deps.producer.queue.getJobCounts('waiting')),
    ]);
    const migrations = postgres && (await probe(() => migrationsCurrent(deps.db).then((ok) => (ok ? ok : Promise.reject(new Error('pending'))))));
    const checks = { postgres, redis, queue, migrations };
    const failing = Object.entries(checks).filter(([, ok]) => !ok).map(([name]) => name);
    if (failing.length === 0) {
      res.json({ status: 'ready', checks });
      return;
    }
    // An error like every other: problem+json, with the checks as an extension member.
    sendProblem(res, 'service_unavailable', { requestId: req.id, detail: `Not ready: ${failing.join(', ')}.`, extensions: { checks } });
  });
  return router;
}
