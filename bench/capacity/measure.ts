import { Client } from 'pg';
import { QueryTypes } from 'sequelize';
import { createLogger } from '../../shared/src/logging/logger';
import { scanKeys, unlinkMatching } from '../../shared/src/redis/nodes';
import { createServiceClient } from '../../shared/src/security/service-credentials';
import { startWorker } from '../../workers/src/worker';
import { refresh, signIn, registerUser } from '../../test/support/browser-session';
import type { Harness } from '../../test/support/harness';
import { benchApi, benchConfig, prepareBenchDatabase } from '../lib/bench-env';

/**
 * The measured inputs of the capacity model in README "Scaling": bytes of Redis per session, user
 * and membership (MEMORY USAGE of the real keys, and used_memory growth over many sign-ins), and
 * Postgres rows and WAL bytes written per login, refresh and event (pg_stat_user_tables and
 * pg_current_wal_lsn deltas on the bench database, with the process's connections closed so every
 * counter is flushed). Prints markdown.   npx tsx bench/capacity/measure.ts
 */
const config = benchConfig({ REDIS_KEY_PREFIX: 'lkcap', QUEUE_PREFIX: '{lkcap}', ACCESS_TOKEN_TTL: '600' });
const N = Number(process.env.CAPACITY_N ?? 50);

async function pgCounters(): Promise<{ wal: bigint; tables: Map<string, number> }> {
  const client = new Client({ connectionString: config.databaseUrl });
  await client.connect();
  try {
    await client.query('SELECT pg_stat_clear_snapshot()');
    const wal = BigInt((await client.query("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint AS b")).rows[0].b);
    const rows = (await client.query('SELECT relname, n_tup_ins + n_tup_upd + n_tup_del AS w FROM pg_stat_user_tables')).rows;
    return { wal, tables: new Map(rows.map((r) => [r.relname as string, Number(r.w)])) };
  } finally {
    await client.end();
  }
}

async function drainEvents(api: Awaited<ReturnType<typeof benchApi>>): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const [row] = await api.deps.db.query<{ n: string }>("SELECT count(*) AS n FROM events WHERE status = 'pending'", { type: QueryTypes.SELECT });
    if (Number(row!.n) === 0) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

const silentWorker = () => startWorker(config, { logger: createLogger({ level: 'silent', service: 'capacity' }), relayIntervalMs: 200 });

/**
 * Prepares N items with one API (and a worker that applies the events this causes), closes both so
 * their statistics are flushed, then runs `work` on each item in a fresh API (and worker) and
 * returns the rows and WAL written per operation, including the events the operation causes.
 */
async function pgWrites(label: string, prepare: (h: Harness) => Promise<unknown[]>, work: (h: Harness, item: unknown) => Promise<void>) {
  const setup = await benchApi(config);
  const setupWorker = await silentWorker();
  const items = await prepare({ http: setup.http, deps: setup.deps } as unknown as Harness);
  await drainEvents(setup);
  await setupWorker.close();
  await setup.close();
  await new Promise((r) => setTimeout(r, 1_500));
  const before = await pgCounters();
  const api = await benchApi(config);
  const worker = await silentWorker();
  const h = { http: api.http, deps: api.deps } as unknown as Harness;
  for (const item of items) await work(h, item);
  await drainEvents(api);
  await worker.close();
  await api.close();
  await new Promise((r) => setTimeout(r, 1_500));
  const after = await pgCounters();
  const perTable = [...after.tables]
    .map(([t, w]) => [t, (w - (before.tables.get(t) ?? 0)) / items.length] as const)
    .filter(([, w]) => w > 0)
    .sort((a, b) => b[1] - a[1]);
  const rows = perTable.reduce((a, [, w]) => a + w, 0);
  const wal = Number(after.wal - before.wal) / items.length;
  return `| ${label} | ${rows.toFixed(1)} | ${perTable.map(([t, w]) => `${t} ${w.toFixed(1)}`).join(', ')} | ${(wal / 1024).toFixed(1)} |`;
}

async function main(): Promise<void> {
  await prepareBenchDatabase(config);
  const out: string[] = ['### capacity inputs (bench/capacity/measure.ts)', ''];

  // --- Redis: the real keys of one signed-in user, then used_memory over N more sessions.
  const api = await benchApi(config);
  const h = { http: api.http, deps: api.deps } as unknown as Harness;
  const redis = api.deps.redis;
  await unlinkMatching(redis, 'lkcap:*');
  const s = await signIn(h);
  await h.http.get('/me').set('Authorization', `Bearer ${s.accessToken}`).expect(200);
  const usage = async (key: string) => Number(await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0'));
  const keys = api.deps.keys;
  await api.deps.stateCache.writeMemberships([
    { userId: s.userId, membershipId: '0b0e4f4e-7a51-4a7e-9a55-2d3c9f1e6a10', state: { permissionsVersion: 3, status: 'active', organizationId: 'c3f0b4de-2f2d-4a55-8b1a-6f1e0d9c7b21', organizationStatus: 'active' } },
  ]);
  const [role] = await api.deps.db.query<{ permissions: string[] }>("SELECT permissions FROM roles WHERE name = 'member' LIMIT 1", { type: QueryTypes.SELECT });
  await redis.set(keys.permissions('0b0e4f4e-7a51-4a7e-9a55-2d3c9f1e6a10', 3), JSON.stringify(role?.permissions ?? ['reports:read']), 'EX', 60);
  const limitKeys = await scanKeys(redis, 'lkcap:{rl:*');
  out.push('| Redis key | value | MEMORY USAGE bytes |', '|---|---|---|');
  for (const [name, key] of [
    ['user', keys.user(s.userId)],
    ['session', keys.session(s.userId, s.sessionId)],
    ['membership', keys.membership(s.userId, '0b0e4f4e-7a51-4a7e-9a55-2d3c9f1e6a10')],
    ['permissions (per role version)', keys.permissions('0b0e4f4e-7a51-4a7e-9a55-2d3c9f1e6a10', 3)],
  ] as const) {
    // `|` inside a table cell is escaped (the values are `|`-separated).
    out.push(`| ${name} | \`${(await redis.get(key))?.replace(/\|/g, '\\|')}\` | ${await usage(key)} |`);
  }
  for (const key of limitKeys) out.push(`| rate limit \`${key.replace(/[0-9a-f-]{36}|\d+\.\d+\.\d+\.\d+|[^:{}]+@[^:{}]+/g, '…')}\` | counter | ${await usage(key)} |`);
  const usedMemory = async () => Number(/used_memory:(\d+)/.exec(await (redis as import('ioredis').Redis).info('memory'))![1]);
  const queueBytes = async () => {
    let total = 0;
    for (const key of await scanKeys(redis, `${config.queuePrefix}:*`)) total += await usage(key);
    return total;
  };
  const email = await registerUser(h);
  const before = await usedMemory();
  const queueBefore = await queueBytes();
  for (let i = 0; i < N; i++) {
    const t = await signIn(h, { email });
    await h.http.get('/me').set('Authorization', `Bearer ${t.accessToken}`).expect(200);
  }
  const grown = (await usedMemory()) - before;
  const queued = (await queueBytes()) - queueBefore;
  out.push(
    '',
    `used_memory growth over ${N} more sessions of one user: ${(grown / N).toFixed(0)} bytes per sign-in, of which ` +
      `${(queued / N).toFixed(0)} are the queued \`user.logged_in\` event job (BullMQ, removed after completion) and ` +
      `${((grown - queued) / N).toFixed(0)} the session's own state (key, value, expiry entry).`,
  );
  await unlinkMatching(redis, 'lkcap:*');
  await api.close();

  // --- Postgres: rows and WAL per operation.
  out.push('', `| operation (mean of ${N}; with the events it causes, applied by the worker) | rows written | by table | WAL KiB |`, '|---|---|---|---|');
  out.push(
    await pgWrites(
      'login (POST /auth/login)',
      async (hh) => Promise.all(Array.from({ length: N }, () => registerUser(hh))),
      async (hh, e) => {
        await hh.http.post('/auth/login').send({ email: e as string, password: 'correct horse battery staple' }).expect(200);
      },
    ),
  );
  out.push(
    await pgWrites(
      'refresh (POST /auth/refresh)',
      async (hh) => {
        const list = [];
        for (let i = 0; i < N; i++) list.push(await signIn(hh));
        return list;
      },
      async (hh, session) => {
        const res = await refresh(hh, session as Awaited<ReturnType<typeof signIn>>);
        if (res.status !== 200) throw new Error(`refresh ${res.status}`);
      },
    ),
  );
  const { credential } = await (async () => {
    const a = await benchApi(config);
    try {
      return await createServiceClient(`capacity-${Date.now()}`, ['events:write']);
    } finally {
      await a.close();
    }
  })();
  out.push(
    await pgWrites(
      'event (POST /v1/events user.logged_out_all, applied by the worker)',
      async (hh) => {
        const list = [];
        for (let i = 0; i < N; i++) list.push((await signIn(hh)).userId);
        return list;
      },
      async (hh, userId) => {
        await hh.http.post('/v1/events').set('Authorization', `Bearer ${credential}`).send({ type: 'user.logged_out_all', data: { userId } }).expect(202);
      },
    ),
  );
  process.stdout.write(`${out.join('\n')}\n`);
  process.exit(0);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
