import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createDatabase } from '../../shared/src/db/connection';
import { benchConfig, prepareBenchDatabase } from '../lib/bench-env';
import { runChild } from '../lib/child-run';
import { createBenchUsers, csrfPair, inParallel, login } from '../lib/fixtures';
import { describeMachine } from '../lib/machine';
import { commandCpuMs, processCpuMs } from '../lib/process-cpu';
import { startApiProcess } from '../lib/product-processes';
import { fmt, median } from '../lib/stats';
import type { Chain, RefreshRunResult } from './client';

const VARIANTS = ['pg', 'latchkey'] as const;
const SERVERS = ['postgres', 'redis-server'];
const PARTS = ['client', 'api', 'postgres', 'redis'] as const;
type Part = (typeof PARTS)[number];
type Variant = (typeof VARIANTS)[number];
const LABEL: Record<Variant, string> = {
  pg: 'bare pg transaction (lock token row, insert successor, mark parent)',
  latchkey: 'Latchkey POST /auth/refresh (HTTP, CSRF, full rotation)',
};

/**
 * P3: refresh rotation against the bare transaction of the same shape. The real API process runs
 * on core 1; one load-client process on core 0 runs 50 concurrent chains (each its own session and
 * cookie chain) for the Latchkey variant, and the bare `pg` transaction from the same process model
 * (pool of DATABASE_POOL_MAX = 20, the API's) for the baseline; alternated A B A B, medians.
 */
export async function benchRefresh(): Promise<string> {
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  const seconds = Number(process.env.BENCH_SECONDS ?? 10);
  const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 50);
  const config = benchConfig();
  await prepareBenchDatabase(config);
  const db = createDatabase(config, 2);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lk-bench-refresh-'));
  const api = await startApiProcess({}, 1);
  try {
    const users = await createBenchUsers(db, concurrency, 'refresh');
    const chainsOf = async (): Promise<Chain[]> =>
      inParallel(users, 4, async (u) => {
        const [session, csrf] = await Promise.all([login(api.url, u.email), csrfPair(api.url)]);
        return { refreshCookie: session.refreshCookie, csrfCookie: csrf.cookie, csrfToken: csrf.token };
      });
    const stateFiles: Record<Variant, string> = { pg: path.join(dir, 'pg.json'), latchkey: path.join(dir, 'latchkey.json') };
    for (const v of VARIANTS) writeFileSync(stateFiles[v], JSON.stringify(await chainsOf()), { mode: 0o600 });

    const run = (v: Variant, secs: number) =>
      runChild<RefreshRunResult>(path.join(__dirname, 'client.ts'), {
        MODE: v,
        SECONDS: String(secs),
        STATE_FILE: stateFiles[v],
        API_URL: api.url,
        DATABASE_URL: config.databaseUrl,
        POOL_MAX: String(config.databasePoolMax),
      });
    for (const v of VARIANTS) await run(v, 2);
    const results: Record<Variant, RefreshRunResult[]> = { pg: [], latchkey: [] };
    // Where each variant's CPU goes, per operation (µs): the load client (its own reading), the
    // API process (Latchkey only), every postgres and redis-server process of the machine. Their
    // sum bounds what two cores can do, whatever the scheduling.
    const cpu: Record<Variant, Array<Record<Part, number>>> = { pg: [], latchkey: [] };
    const reading = (): Record<string, number> => ({ api: processCpuMs(api.child.pid) ?? NaN, ...(commandCpuMs(SERVERS) ?? { postgres: NaN, 'redis-server': NaN }) });
    for (let round = 0; round < rounds; round++) {
      for (const v of VARIANTS) {
        const before = reading();
        const r = await run(v, seconds);
        const after = reading();
        if (r.failed) throw new Error(`refresh ${v}: ${r.failed} failed (${r.firstFailure}): the variant is misconfigured`);
        results[v].push(r);
        const perOp = (part: string) => ((after[part]! - before[part]!) * 1000) / Math.max(1, r.completed);
        cpu[v].push({ client: r.clientCpuUs, api: v === 'latchkey' ? perOp('api') : 0, postgres: perOp('postgres'), redis: perOp('redis-server') });
        const c = cpu[v].at(-1)!;
        process.stderr.write(`refresh round ${round + 1} ${v}: ${fmt(r.perSecond, 0)}/s, p99 ${fmt(r.p99, 1)} ms, CPU µs/op: client ${fmt(c.client, 0)}, API ${fmt(c.api, 0)}, postgres ${fmt(c.postgres, 0)}, redis ${fmt(c.redis, 0)}\n`);
      }
    }
    const rate = (v: Variant) => median(results[v].map((r) => r.perSecond));
    const p99 = (v: Variant) => median(results[v].map((r) => r.p99));
    const p50 = (v: Variant) => median(results[v].map((r) => r.p50));
    const ratio = rate('latchkey') / rate('pg');
    const cpuOf = (v: Variant, part: Part) => median(cpu[v].map((c) => c[part]));
    const total = (v: Variant) => PARTS.reduce((sum, part) => sum + cpuOf(v, part), 0);
    return [
      '### refresh (P3)',
      '',
      `Machine: ${describeMachine()}. Command: \`npm run bench -- refresh\` (${rounds} rounds × ${seconds} s per variant, alternated, ${concurrency} concurrent chains, API pinned to core 1, load client on core 0).`,
      '',
      '| variant | rotations/s (median) | ratio vs bare pg | p50 ms | p99 ms (median) |',
      '|---|---|---|---|---|',
      ...VARIANTS.map((v) => `| ${LABEL[v]} | ${fmt(rate(v), 0)} | ${fmt(rate(v) / rate('pg'))} | ${fmt(p50(v), 1)} | ${fmt(p99(v), 1)} |`),
      '',
      '| CPU per operation (µs, median of rounds) | client | API | postgres | redis | total | two cores allow (ops/s) |',
      '|---|---|---|---|---|---|---|',
      ...VARIANTS.map((v) => `| ${v === 'pg' ? 'bare pg' : 'Latchkey'} | ${PARTS.map((part) => fmt(cpuOf(v, part), 0)).join(' | ')} | ${fmt(total(v), 0)} | ${fmt(2e6 / total(v), 0)} |`),
      '',
      `On two cores the machine allows Latchkey at most ${fmt(total('pg') / total('latchkey'))}× the bare transaction's throughput if both used every cycle (bare total / Latchkey total).`,
      '',
      `P3: Latchkey / bare pg = **${fmt(ratio)}** (target ≥ 0.7), p99 **${fmt(p99('latchkey'), 1)} ms** (target ≤ 50): ${ratio >= 0.7 && p99('latchkey') <= 50 ? 'met' : '**not met**'}.`,
    ].join('\n');
  } finally {
    await api.stop();
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
