import type { Sequelize } from 'sequelize';
import supertest from 'supertest';
import { loadConfig, type Config } from '../../shared/src/config/load-config';
import { createDatabase } from '../../shared/src/db/connection';
import { migrateToLatest } from '../../shared/src/db/migrator';
import { createLogger } from '../../shared/src/logging/logger';
import { ensureInfra } from '../../services/launcher/src/infra';
import { createApp } from '../../services/api/src/app';
import { createDeps, type ApiDeps } from '../../services/api/src/deps';

/** Every benchmark runs against its own database and Redis key prefix on the local services. */
export const BENCH_ENV: Record<string, string> = {
  NODE_ENV: 'test',
  DATABASE_URL: process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/latchkey_bench',
  REDIS_URL: process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379',
  REDIS_KEY_PREFIX: 'lkbench',
  QUEUE_PREFIX: '{lkbench}',
  LOG_LEVEL: 'silent',
  MAIL_TRANSPORT: 'none',
  RATE_LIMIT_SCALE: '100000',
  // One issuer for every bench process (by default it follows each process's own port), so a
  // product backend started by a benchmark accepts the tokens its API processes issue.
  JWT_ISSUER: 'http://latchkey-bench.test',
  JWT_AUDIENCE: 'latchkey-bench',
};

export function benchConfig(extra: Record<string, string> = {}): Config {
  return loadConfig({ ...BENCH_ENV, ...extra });
}

/** Tables whose rows the hot paths update or delete (the audit log itself is insert-only). */
const CHURNED_TABLES = ['events', 'audit_staged', 'refresh_tokens', 'sessions', 'users', 'memberships', 'organizations'];

/**
 * Makes Postgres and Redis answer, brings the bench database to the latest schema and vacuums it.
 * Earlier runs leave dead rows behind, and a machine may run Postgres with autovacuum off (CI
 * machines here do): without the vacuum a benchmark would measure the garbage of the ones before
 * it (the outbox relay's scan of pending events read 478k dead index entries after a few runs).
 */
export async function prepareBenchDatabase(config = benchConfig()): Promise<void> {
  await ensureInfra({ databaseUrl: config.databaseUrl, redisUrl: config.redisUrl });
  const db = createDatabase(config, 2);
  try {
    await migrateToLatest(db);
    await vacuumChurnedTables(db);
  } finally {
    await db.close();
  }
}

/** What autovacuum does in production, at once: dead rows of the churned tables removed, stats fresh. */
export async function vacuumChurnedTables(db: Sequelize): Promise<void> {
  await db.query(`VACUUM (ANALYZE) ${CHURNED_TABLES.join(', ')}`);
}

/** An in-process API on the bench database, to create users and sign them in through the real routes. */
export async function benchApi(config = benchConfig()): Promise<{ deps: ApiDeps; http: ReturnType<typeof supertest>; close(): Promise<void> }> {
  const deps = await createDeps(config, createLogger({ level: 'silent', service: 'bench' }));
  return { deps, http: supertest(createApp(deps)), close: () => deps.close() };
}

/** Registers a fresh user and signs in; returns the access token and the refresh cookie. */
export async function signedInUser(http: ReturnType<typeof supertest>, extra: Record<string, unknown> = {}) {
  const email = `bench-${Date.now()}-${Math.random().toString(36).slice(2)}@example.test`;
  const password = 'benchmark password 1234';
  await http.post('/auth/register').send({ email, password });
  const res = await http.post('/auth/login').send({ email, password, ...extra });
  if (res.status !== 200) throw new Error(`bench login failed: ${res.status} ${res.text}`);
  const cookie = (res.headers['set-cookie'] as unknown as string[]).find((c) => c.startsWith('__Host-lk_rt='))!.split(';')[0]!;
  return { email, password, accessToken: res.body.accessToken as string, sessionId: res.body.session.id as string, userId: res.body.user.id as string, cookie };
}
