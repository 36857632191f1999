import { rmSync, mkdirSync } from 'node:fs';
import { ensureDatabase } from '../../../services/launcher/src/infra';
import { loadConfig } from '../../../shared/src/config/load-config';
import { createDatabase } from '../../../shared/src/db/connection';
import { migrateToLatest } from '../../../shared/src/db/migrator';
import { runNames } from './fault-env';

/** Once per fault run: a fresh database of the suite's own at the latest schema, an empty evidence folder. */
export default async function globalSetup(): Promise<void> {
  const names = runNames(`${process.pid}_${Date.now().toString(36)}`);
  process.env.FAULTS_DATABASE_URL ??= names.databaseUrl;
  process.env.FAULTS_EVIDENCE_DIR ??= names.evidenceDir;
  const databaseUrl = process.env.FAULTS_DATABASE_URL;
  const evidenceDir = process.env.FAULTS_EVIDENCE_DIR;
  rmSync(evidenceDir, { recursive: true, force: true });
  mkdirSync(evidenceDir, { recursive: true });
  await ensureDatabase(databaseUrl, { recreate: true });
  const db = createDatabase(loadConfig({ DATABASE_URL: databaseUrl }), 2);
  try {
    await migrateToLatest(db);
  } finally {
    await db.close();
  }
}
