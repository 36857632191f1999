import { Client } from 'pg';
import { loadConfig } from '../../shared/src/config/load-config';
import { createDatabase } from '../../shared/src/db/connection';
import { migrateToLatest } from '../../shared/src/db/migrator';
import { TEST_ENV } from './test-env';

/**
 * A database of a test file's own, beside the shared test database, at the latest schema: for
 * tests that change the whole audit chain, or that must not have their events relayed by the
 * workers of other test files. `drop` removes it.
 */
export async function createOwnDatabase(suffix: string): Promise<{ url: string; drop(): Promise<void> }> {
  const base = new URL(TEST_ENV.DATABASE_URL!);
  const name = `${base.pathname.slice(1)}_${suffix}`;
  const url = new URL(base.toString());
  url.pathname = `/${name}`;
  const admin = async (sql: string) => {
    const c = new Client({ connectionString: base.toString() });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin(`CREATE DATABASE ${name}`);
  const migrator = createDatabase(loadConfig({ DATABASE_URL: url.toString() }), 2);
  await migrateToLatest(migrator).finally(() => migrator.close());
  return { url: url.toString(), drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}
