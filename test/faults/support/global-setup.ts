import { rmSync, mkdirSync } from 'node:fs';
import { ensureDatabase } from '../../../services/launcher/src/infra';
import { loadConfig } from '../../../shared/src/config/load-config';
import { createDatabase } from '../../../shared/src/db/connection';
import { migrateToLatest } from '../../../shared/src/db/migrator';
import { EVIDENCE_DIR, FAULTS_DATABASE_URL } from './fault-env';

/** Once per fault run: a fresh database of the suite's own at the latest schema, an empty evidence folder. */
export default async function globalSetup(): Promise<void> {
  rmSync(EVIDENCE_DIR, { recursive: true, force: true });
  mkdirSync(EVIDENCE_DIR, { recursive: true });
  await ensureDatabase(FAULTS_DATABASE_URL, { recreate: true });
  const db = createDatabase(loadConfig({ DATABASE_URL: FAULTS_DATABASE_URL }), 2);
  try {
    await migrateToLatest(db);
  } finally {
    await db.close();
  }
}
