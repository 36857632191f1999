import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { loadConfig } from '../../../shared/src/config/load-config';
import { createDatabase } from '../../../shared/src/db/connection';
import { migrateToLatest } from '../../../shared/src/db/migrator';
import { ensureInfra, log } from './infra';

const ROOT = path.resolve(__dirname, '../../..');
const TSX = path.join(ROOT, 'node_modules/.bin/tsx');

/**
 * `npm start`: on local defaults, makes Postgres and Redis answer (starting them when they are
 * installed but stopped), applies migrations, then runs the API and the worker side by side.
 * If either process exits, the other is stopped too.
 */
async function main(): Promise<void> {
  const config = loadConfig(process.env);
  await ensureInfra({ databaseUrl: config.databaseUrl, redisUrl: config.redisUrl });
  const db = createDatabase(config, 2); // the migration lock holds one connection, migrations use another
  const applied = await migrateToLatest(db).finally(() => db.close());
  if (applied.length) log(`migrations applied: ${applied.join(', ')}`);

  const children: ChildProcess[] = [
    spawn(TSX, [path.join(ROOT, 'services/api/src/main.ts')], { stdio: 'inherit', env: process.env }),
    spawn(TSX, [path.join(ROOT, 'workers/src/main.ts')], { stdio: 'inherit', env: process.env }),
  ];
  let stopping = false;
  const stop = (code: number) => {
    if (stopping) return;
    stopping = true;
    for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
    setTimeout(() => process.exit(code), 12_000).unref();
    Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : null))).then(() => process.exit(code));
  };
  for (const child of children) child.once('exit', (code) => stop(code ?? 1));
  process.on('SIGINT', () => stop(0));
  process.on('SIGTERM', () => stop(0));
  log(`API on http://localhost:${config.port} (JWKS: /.well-known/jwks.json); worker on queue security-events`);
}

main().catch((err: unknown) => {
  log(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
