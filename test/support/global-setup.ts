import { loadConfig } from '../../shared/src/config/load-config';
import { createDatabase } from '../../shared/src/db/connection';
import { migrateToLatest } from '../../shared/src/db/migrator';
import { ensureInfra } from '../../services/launcher/src/infra';
import { TEST_ENV } from './test-env';

/** Once per run: a fresh test database at the latest schema. */
export default async function globalSetup(): Promise<void> {
  const config = loadConfig({ ...TEST_ENV });
  await ensureInfra({ databaseUrl: config.databaseUrl, redisUrl: config.redisUrl, recreateDatabase: true });
  const db = createDatabase(config, 2);
  try {
    await migrateToLatest(db);
  } finally {
    await db.close();
  }
}
