import { QueryTypes, type Sequelize } from 'sequelize';
import { createDatabase } from '../../shared/src/db/connection';
import { benchConfig, prepareBenchDatabase, vacuumChurnedTables } from '../lib/bench-env';
import { benchServiceCredential, countWhereIdIn, createBenchUsers, createOrganizationWithMembers, inParallel, type BenchUser } from '../lib/fixtures';
import { describeMachine } from '../lib/machine';
import { startApiProcess, startWorkerProcess, type ProductProcess } from '../lib/product-processes';
import { fmt, median } from '../lib/stats';

/** Its own key prefix and queue, shared by this benchmark's API and worker processes. */
const PREFIX_ENV = { REDIS_KEY_PREFIX: 'lkbev', QUEUE_PREFIX: '{lkbev}' };
const VARIANTS = [1, 2] as const;

/** One round of one variant. */
interface EventsRun {
  events: number;
  /** From the first to the last audit record committed (created_at, written under the chain lock). */
  perSecond: number;
  /** From the workers' start (ready) to the last record, start-up excluded. */
  wallSeconds: number;
}

/**
 * P5: events per second end to end, from enqueued (202 from POST /v1/events: outbox row committed
 * and job enqueued) to audit record committed. Each round posts N events (half
 * `membership.role_changed`, half `user.logged_out_all`, over 200 members of one organization)
 * through the real API while no worker runs, then starts 1 or 2 real worker processes and times the
 * backlog from its first to its last audit record. Variants alternate (1 2 1 2 ...), medians.
 */
export async function benchEvents(): Promise<string> {
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  const perRound = Number(process.env.BENCH_EVENTS ?? 5000);
  const config = benchConfig(PREFIX_ENV);
  await prepareBenchDatabase(config);
  const db = createDatabase(config, 2);
  const api = await startApiProcess(PREFIX_ENV, 1);
  try {
    const credential = await benchServiceCredential(['events:write', 'organizations:write']);
    const users = await createBenchUsers(db, 200, 'events');
    const orgId = await createOrganizationWithMembers(api.url, credential, users);

    // Older pending events (other benchmarks' sign-ins) would be swept in by the relay: drain first.
    await withWorkers(1, () => waitForDrain(db));

    const results: Record<number, EventsRun[]> = { 1: [], 2: [] };
    for (let round = 0; round < rounds; round++) {
      for (const workers of VARIANTS) {
        // Each run updates every event row three times; autovacuum would clean up between runs.
        await vacuumChurnedTables(db);
        const ids = await postEvents(api.url, credential, orgId, users, perRound);
        const run = await withWorkers(workers, (startedAt) => waitForAudit(db, ids, startedAt));
        results[workers].push(run);
        process.stderr.write(`events round ${round + 1}, ${workers} worker(s): ${fmt(run.perSecond, 0)} events/s\n`);
      }
    }
    const rate = (w: number) => median(results[w]!.map((r) => r.perSecond));
    const one = rate(1);
    // Growth is judged on the per-round ratios (each pair measured back to back), not on medians of each.
    const growth = median(results[2]!.map((r, i) => r.perSecond / results[1]![i]!.perSecond));
    return [
      '### events (P5)',
      '',
      `Machine: ${describeMachine()}. Command: \`npm run bench -- events\` (${rounds} rounds, ${perRound} events per round and variant, variants alternated, churned tables vacuumed before each; API pinned to core 1 posting batches of 100 while no worker runs; worker processes unpinned, WORKER_CONCURRENCY ${config.worker.concurrency}).`,
      '',
      '| worker processes | events/s, first to last audit record (median) | vs one worker | wall s from ready to last record (median) |',
      '|---|---|---|---|',
      ...VARIANTS.map((w) => `| ${w} | ${fmt(rate(w), 0)} | ${fmt(rate(w) / one)} | ${fmt(median(results[w]!.map((r) => r.wallSeconds)), 1)} |`),
      '',
      `Per-round ratio two workers / one: ${results[2]!.map((r, i) => fmt(r.perSecond / results[1]![i]!.perSecond)).join(', ')}.`,
      '',
      `P5: **${fmt(one, 0)} events/s** with one worker (target ≥ 1,000): ${one >= 1000 ? 'met' : '**not met**'}; a second worker gives **${fmt(growth)}×** (median of per-round ratios; target: grows): ${growth > 1.05 ? 'met' : '**not met**'}.`,
    ].join('\n');
  } finally {
    await api.stop();
    await db.close();
  }
}

/** Starts `n` worker processes, runs `fn` with the time they were all ready, stops them. */
async function withWorkers<T>(n: number, fn: (readyAt: number) => Promise<T>): Promise<T> {
  const workers: ProductProcess[] = [];
  try {
    for (let i = 0; i < n; i++) workers.push(await startWorkerProcess(PREFIX_ENV));
    return await fn(Date.now());
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
async function waitForAudit(db: Sequelize, ids: string[], readyAt: number): Promise<EventsRun> {
  const deadline = Date.now() + 300_000;
  for (;;) {
    const done = await countWhereIdIn(db, 'SELECT count(*) AS n FROM audit_event_ids WHERE event_id IN (:ids)', ids);
    if (done === ids.length) break;
    if (Date.now() > deadline) throw new Error(`events: only ${done} of ${ids.length} audit records after 5 minutes`);
    await new Promise((r) => setTimeout(r, 200));
  }
  let first = Infinity;
  let last = 0;
  for (let i = 0; i < ids.length; i += 5_000) {
    const [row] = await db.query<{ first: Date; last: Date }>(
      'SELECT min(created_at) AS first, max(created_at) AS last FROM audit_logs WHERE event_id IN (:ids)',
      { type: QueryTypes.SELECT, replacements: { ids: ids.slice(i, i + 5_000) } },
    );
    first = Math.min(first, row!.first.getTime());
    last = Math.max(last, row!.last.getTime());
  }
  return { events: ids.length, perSecond: (ids.length - 1) / Math.max(0.001, (last - first) / 1000), wallSeconds: (last - readyAt) / 1000 };
}
