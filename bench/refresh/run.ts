import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createDatabase } from '../../shared/src/db/connection';
import { benchConfig, prepareBenchDatabase } from '../lib/bench-env';
import { runChild } from '../lib/child-run';
import { createBenchUsers, csrfPair, inParallel, login } from '../lib/fixtures';
import { describeMachine } from '../lib/machine';
import { startApiProcess } from '../lib/product-processes';
import { fmt, median } from '../lib/stats';
import type { Chain, RefreshRunResult } from './client';

const VARIANTS = ['pg', 'latchkey'] as const;
type Variant = (typeof VARIANTS)[number];
const LABEL: Record<Variant, string> = {
  pg: 'bare pg transaction (lock token row, insert successor, mark parent)',
  latchkey: 'Latchkey POST /auth/refresh (HTTP, CSRF, full rotation)',
};

/** CPU seconds (user + system) a process has used so far, from /proc (undefined elsewhere). */
function cpuSeconds(pid: number | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // clock ticks (USER_HZ, 100 on Linux)
  } catch {
    return undefined;
  }
}

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
    // The API process's CPU time per rotation during each Latchkey run (a figure less sensitive than
    // throughput to the other processes sharing this machine).
    const apiCpuPerRotation: number[] = [];
    for (let round = 0; round < rounds; round++) {
      for (const v of VARIANTS) {
        const cpuBefore = cpuSeconds(api.child.pid);
        const r = await run(v, seconds);
        const cpuAfter = cpuSeconds(api.child.pid);
        if (r.failed) throw new Error(`refresh ${v}: ${r.failed} failed (${r.firstFailure}): the variant is misconfigured`);
        results[v].push(r);
        if (v === 'latchkey' && cpuBefore !== undefined && cpuAfter !== undefined && r.completed) apiCpuPerRotation.push(((cpuAfter - cpuBefore) * 1e6) / r.completed);
        process.stderr.write(`refresh round ${round + 1} ${v}: ${fmt(r.perSecond, 0)}/s, p99 ${fmt(r.p99, 1)} ms, client CPU ${fmt(r.clientCpuUs, 0)} µs/op${v === 'latchkey' && apiCpuPerRotation.length ? `, API CPU ${fmt(apiCpuPerRotation.at(-1)!, 0)} µs/rotation` : ''}\n`);
      }
    }
    const rate = (v: Variant) => median(results[v].map((r) => r.perSecond));
    const p99 = (v: Variant) => median(results[v].map((r) => r.p99));
    const p50 = (v: Variant) => median(results[v].map((r) => r.p50));
    const ratio = rate('latchkey') / rate('pg');
    return [
      '### refresh (P3)',
      '',
      `Machine: ${describeMachine()}. Command: \`npm run bench -- refresh\` (${rounds} rounds × ${seconds} s per variant, alternated, ${concurrency} concurrent chains, API pinned to core 1, load client on core 0).`,
      '',
      '| variant | rotations/s (median) | ratio vs bare pg | p50 ms | p99 ms (median) |',
      '|---|---|---|---|---|',
      ...VARIANTS.map((v) => `| ${LABEL[v]} | ${fmt(rate(v), 0)} | ${fmt(rate(v) / rate('pg'))} | ${fmt(p50(v), 1)} | ${fmt(p99(v), 1)} |`),
      '',
      ...(apiCpuPerRotation.length ? [`API process CPU per rotation (user + system, median of the Latchkey runs): ${fmt(median(apiCpuPerRotation), 0)} µs.`, ''] : []),
      `P3: Latchkey / bare pg = **${fmt(ratio)}** (target ≥ 0.7), p99 **${fmt(p99('latchkey'), 1)} ms** (target ≤ 50): ${ratio >= 0.7 && p99('latchkey') <= 50 ? 'met' : '**not met**'}.`,
    ].join('\n');
  } finally {
    await api.stop();
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
