import path from 'node:path';
import { Umzug, SequelizeStorage, type MigrationFn } from 'umzug';
import type { Sequelize } from 'sequelize';

/** What a migration is given: plain SQL, run inside the migration's own transaction. */
export interface SqlRunner {
  query(sql: string): Promise<unknown>;
}
export type Migration = MigrationFn<SqlRunner>;

const MIGRATIONS_DIR = path.resolve(__dirname, '../../../migrations');

/** The ordered, reversible migrations in migrations/, applied and recorded by umzug. */
export function createMigrator(sequelize: Sequelize) {
  return new Umzug({
    migrations: {
      glob: ['[0-9][0-9][0-9]-*.{ts,js}', { cwd: MIGRATIONS_DIR, ignore: ['**/*.d.ts'] }],
      resolve: ({ name, path: file }) => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const mod = require(file!) as { up: Migration; down: Migration };
        const run = (step: Migration) =>
          sequelize.transaction(async (transaction) => {
            const context: SqlRunner = { query: (sql) => sequelize.query(sql, { transaction }) };
            await step({ name, path: file, context });
          });
        return { name: name.replace(/\.(ts|js)$/, ''), up: () => run(mod.up), down: () => run(mod.down) };
      },
    },
    storage: new SequelizeStorage({ sequelize, tableName: 'schema_migrations' }),
    logger: undefined,
  });
}

/** Applies pending migrations under an advisory lock, so parallel starts do not race. */
export async function migrateToLatest(sequelize: Sequelize): Promise<string[]> {
  return withMigrationLock(sequelize, async () => (await createMigrator(sequelize).up()).map((m) => m.name));
}

/** True when every migration on disk has been applied (used by /readyz). */
export async function migrationsCurrent(sequelize: Sequelize): Promise<boolean> {
  return (await createMigrator(sequelize).pending()).length === 0;
}

async function withMigrationLock<T>(sequelize: Sequelize, fn: () => Promise<T>): Promise<T> {
  const LOCK_ID = 724_311_019;
  return sequelize.transaction(async (t) => {
    await sequelize.query('SELECT pg_advisory_xact_lock(:id)', { replacements: { id: LOCK_ID }, transaction: t });
    return fn();
  });
}
