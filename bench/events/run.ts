import { availableParallelism } from 'node:os';
import { QueryTypes, type Sequelize } from 'sequelize';
import { Queue } from 'bullmq';
import { createDatabase } from '../../shared/src/db/connection';
import { SECURITY_EVENTS_QUEUE } from '../../shared/src/events/producer';
import { createRedis } from '../../shared/src/redis/client';
import { benchConfig, prepareBenchDatabase, vacuumChurnedTables } from '../lib/bench-env';
import { benchServiceCredential, countWhereIdIn, createBenchUsers, createOrganizationWithMembers, inParallel, type BenchUser } from '../lib/fixtures';
import { describeMachine } from '../lib/machine';
import { commandCpuMs, processCpuMs } from '../lib/process-cpu';
import { startApiProcess, startWorkerProcess, type ProductProcess } from '../lib/product-processes';
import { fmt, median } from '../lib/stats';

/** Its own key prefix and queue, shared by this benchmark's API and worker processes. */
const PREFIX_ENV = { REDIS_KEY_PREFIX: 'lkbev', QUEUE_PREFIX: '{lkbev}' };
const VARIANTS = [1, 2] as const;

/** One round of one variant. */
interface EventsRun {
  events: number;
  /** From the queue's release (every worker ready) to the last audit record committed (created_at, written under the chain lock). */
  perSecond: number;
  /** The same span, in seconds. */
  wallSeconds: number;
}

/** CPU per event (µs) of each part while the workers ran, and the share of the machine's cores they kept busy. */
interface CpuShare {
  workers: number;
  postgres: number;
  redis: number;
  /** (workers + postgres + redis CPU) / (cores × wall time). */
  busy: number;
}

/**
 * P5: events per second end to end, from enqueued (202 from POST /v1/events: outbox row committed
 * and job enqueued) to audit record committed. Each round posts N events (half
 * `membership.role_changed`, half `user.logged_out_all`, over 200 members of one organization)
 * through the real API into the paused queue, starts 1 or 2 real worker processes, releases the
 * queue once every worker is ready (so a second worker never starts behind the first) and times
 * the backlog from the release to its last audit record. Variants alternate (1 2 1 2 ...), medians.
 */
export async function benchEvents(): Promise<string> {
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  const perRound = Number(process.env.BENCH_EVENTS ?? 5000);
  const config = benchConfig(PREFIX_ENV);
  await prepareBenchDatabase(config);
  const db = createDatabase(config, 2);
  const api = await startApiProcess(PREFIX_ENV, 1);
  const redis = createRedis(config.redisUrl, 'worker');
  const queue = new Queue(SECURITY_EVENTS_QUEUE, { connection: redis, prefix: config.queuePrefix });
  try {
    const credential = await benchServiceCredential(['events:write', 'organizations:write']);
    const users = await createBenchUsers(db, 200, 'events');
    const orgId = await createOrganizationWithMembers(api.url, credential, users);

    // Older pending events (other benchmarks' sign-ins) would be swept in by the relay: drain first
    // (with the queue released, in case an interrupted run left it paused).
    await queue.resume();
    await withWorkers(1, () => waitForDrain(db));

    const results: Record<number, EventsRun[]> = { 1: [], 2: [] };
    const cpu: Record<number, CpuShare[]> = { 1: [], 2: [] };
    for (let round = 0; round < rounds; round++) {
      for (const workers of VARIANTS) {
        // Each run updates every event row three times; autovacuum would clean up between runs.
        await vacuumChurnedTables(db);
        await queue.pause();
        const ids = await postEvents(api.url, credential, orgId, users, perRound);
        const { result: run, cpu: share } = await withWorkers(
          workers,
          async () => {
            const releasedAt = Date.now();
            await queue.resume();
            return waitForAudit(db, ids, releasedAt);
          },
          perRound,
        );
        results[workers].push(run);
        cpu[workers].push(share);
        process.stderr.write(
          `events round ${round + 1}, ${workers} worker(s): ${fmt(run.perSecond, 0)} events/s; CPU µs/event: workers ${fmt(share.workers, 0)}, postgres ${fmt(share.postgres, 0)}, redis ${fmt(share.redis, 0)}; cores busy ${fmt(share.busy * 100, 0)}%\n`,
        );
      }
    }
    const rate = (w: number) => median(results[w]!.map((r) => r.perSecond));
    const one = rate(1);
    // Growth is judged on the per-round ratios (each pair measured back to back), not on medians of each.
    const growth = median(results[2]!.map((r, i) => r.perSecond / results[1]![i]!.perSecond));
    return [
      '### events (P5)',
      '',
      `Machine: ${describeMachine()}. Command: \`npm run bench -- events\` (${rounds} rounds, ${perRound} events per round and variant, variants alternated, churned tables vacuumed before each; API pinned to core 1 posting batches of 100 into the paused queue; worker processes unpinned, started together, the queue released once all are ready, WORKER_CONCURRENCY ${config.worker.concurrency}).`,
      '',
      '| worker processes | events/s, release to last audit record (median) | vs one worker | s from release to last record (median) | CPU µs per event: workers / postgres / redis (median) | cores kept busy (median) |',
      '|---|---|---|---|---|---|',
      ...VARIANTS.map(
        (w) =>
          `| ${w} | ${fmt(rate(w), 0)} | ${fmt(rate(w) / one)} | ${fmt(median(results[w]!.map((r) => r.wallSeconds)), 1)} | ${(['workers', 'postgres', 'redis'] as const).map((part) => fmt(median(cpu[w]!.map((c) => c[part])), 0)).join(' / ')} | ${fmt(median(cpu[w]!.map((c) => c.busy)) * 100, 0)}% |`,
      ),
      '',
      `Per-round ratio two workers / one: ${results[2]!.map((r, i) => fmt(r.perSecond / results[1]![i]!.perSecond)).join(', ')}.`,
      '',
      `P5: **${fmt(one, 0)} events/s** with one worker (target ≥ 1,000): ${one >= 1000 ? 'met' : '**not met**'}; a second worker gives **${fmt(growth)}×** (median of per-round ratios; target: grows): ${growth > 1.05 ? 'met' : '**not met**'}.`,
    ].join('\n');
  } finally {
    await queue.resume().catch(() => undefined);
    await queue.close();
    redis.disconnect();
    await api.stop();
    await db.close();
  }
}

/**
 * Starts `n` worker processes, runs `fn` once they are all ready, stops them. Also returns the CPU
 * the workers, Postgres and Redis used meanwhile, per event of `events`.
 */
async function withWorkers<T>(n: number, fn: () => Promise<T>, events = 1): Promise<{ result: T; cpu: CpuShare }> {
  const workers: ProductProcess[] = [];
  try {
    workers.push(...(await Promise.all(Array.from({ length: n }, () => startWorkerProcess(PREFIX_ENV)))));
    const reading = (): Record<string, number> => ({
      at: performance.now(),
      workers: workers.reduce((sum, w) => sum + (processCpuMs(w.child.pid) ?? NaN), 0),
      ...(commandCpuMs(['postgres', 'redis-server']) ?? { postgres: NaN, 'redis-server': NaN }),
    });
    const before = reading();
    const result = await fn();
    const after = reading();
    const used = (part: 'workers' | 'postgres' | 'redis-server') => after[part]! - before[part]!;
    const perEvent = (ms: number) => (ms * 1000) / Math.max(1, events);
    return {
      result,
      cpu: {
        workers: perEvent(used('workers')),
        postgres: perEvent(used('postgres')),
        redis: perEvent(used('redis-server')),
        busy: (used('workers') + used('postgres') + used('redis-server')) / (availableParallelism() * (after.at! - before.at!)),
      },
    };
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
  }
}

async function pendingCount(db: Sequelize): Promise<number> {
  const [row] = await db.query<{ n: string }>(`SELECT count(*) AS n FROM events WHERE status = 'pending'`, { type: QueryTypes.SELECT });
  return Number(row?.n ?? 0);
}

/** Waits until no event is pending, or the count stops moving for 10 s (events that will not finish). */
async function waitForDrain(db: Sequelize): Promise<void> {
  let last = -1;
  let stableSince = Date.now();
  for (;;) {
    const n = await pendingCount(db);
    if (n === 0) return;
    if (n !== last) {
      last = n;
      stableSince = Date.now();
    } else if (Date.now() - stableSince > 10_000 + 1000 * 6) {
      process.stderr.write(`events: ${n} older events stay pending; going on\n`);
      return;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** POSTs `n` events in batches of 100 (4 requests in flight); returns their ids. */
async function postEvents(apiUrl: string, credential: string, orgId: string, users: BenchUser[], n: number): Promise<string[]> {
  const batches = Array.from({ length: Math.ceil(n / 100) }, (_, b) =>
    Array.from({ length: Math.min(100, n - b * 100) }, (_, i) => {
      const k = b * 100 + i;
      const user = users[k % users.length]!;
      return k % 2
        ? { type: 'user.logged_out_all', data: { userId: user.id } }
        : { type: 'membership.role_changed', data: { organizationId: orgId, userId: user.id, role: k % 4 ? 'viewer' : 'member' } };
    }),
  );
  const ids = await inParallel(batches, 4, async (events) => {
    const res = await fetch(`${apiUrl}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${credential}`, 'content-type': 'application/json' },
      body: JSON.stringify({ events }),
    });
    if (res.status !== 202) throw new Error(`POST /v1/events: ${res.status} ${await res.text()}`);
    return ((await res.json()) as { eventIds: string[] }).eventIds;
  });
  return ids.flat();
}

/** Polls until every event has its audit record (at most 5 minutes); returns the rate. */
async function waitForAudit(db: Sequelize, ids: string[], releasedAt: number): Promise<EventsRun> {
  const deadline = Date.now() + 300_000;
  for (;;) {
    const done = await countWhereIdIn(db, 'SELECT count(*) AS n FROM audit_event_ids WHERE event_id IN (:ids)', ids);
    if (done === ids.length) break;
    if (Date.now() > deadline) throw new Error(`events: only ${done} of ${ids.length} audit records after 5 minutes`);
    await new Promise((r) => setTimeout(r, 200));
  }
  let last = 0;
  for (let i = 0; i < ids.length; i += 5_000) {
    const [row] = await db.query<{ last: Date }>('SELECT max(created_at) AS last FROM audit_logs WHERE event_id IN (:ids)', {
      type: QueryTypes.SELECT,
      replacements: { ids: ids.slice(i, i + 5_000) },
    });
    last = Math.max(last, row!.last.getTime());
  }
  const wallSeconds = Math.max(0.001, (last - releasedAt) / 1000);
  return { events: ids.length, perSecond: ids.length / wallSeconds, wallSeconds };
}
