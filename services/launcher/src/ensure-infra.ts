import { loadConfig } from '../../../shared/src/config/load-config';
import { TEST_ENV } from '../../../test/support/test-env';
import { ensureInfra, log } from './infra';

/** `npm test` runs this first: Postgres and Redis answer, or the run stops with how to get them. */
const config = loadConfig({ ...process.env, ...TEST_ENV });
ensureInfra({ databaseUrl: config.databaseUrl, redisUrl: config.redisUrl }).catch((err: unknown) => {
  log(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
