import { readFileSync, writeFileSync } from 'node:fs';
import { Pool } from 'pg';
import { keepAliveClient } from '../lib/http-client';
import { percentile } from '../lib/stats';
import { bareRotation } from './bare-rotation';

/** One chain a client connection follows: the cookies it holds (Latchkey) or its current token (bare). */
export interface Chain {
  refreshCookie: string;
  csrfCookie: string;
  csrfToken: string;
}

/** What one run of the refresh client measured. */
export interface RefreshRunResult {
  completed: number;
  failed: number;
  firstFailure?: string;
  seconds: number;
  perSecond: number;
  p50: number;
  p99: number;
  /** CPU time (user + system) of this client process per completed operation, µs. */
  clientCpuUs: number;
}

/**
 * The refresh load client, run as its own process (pinned to core 0): CONCURRENCY loops, each
 * following its own chain for SECONDS, then `RESULT {json}`; the chains' new state is written back
 * to STATE_FILE so the next round continues them.
 * - MODE=http: POST API_URL/auth/refresh with the chain's cookies and CSRF header, keeping the
 *   rotated cookie (a browser tab's behaviour; autocannon cannot follow rotating cookies), over
 *   node:http keep-alive connections: the API, or the bare server (bare-server.ts).
 * - MODE=pg: the bare rotation (bare-rotation.ts) run from this process through `pg` (pool of
 *   POOL_MAX, as the API's).
 */
async function main(): Promise<void> {
  const mode = process.env.MODE;
  const seconds = Number(process.env.SECONDS ?? 10);
  const stateFile = process.env.STATE_FILE!;
  const chains = JSON.parse(readFileSync(stateFile, 'utf8')) as Chain[];
  process.stdout.write('READY {}\n');

  const pool = mode === 'pg' ? new Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.POOL_MAX ?? 20) }) : undefined;
  const latencies: number[] = [];
  let failed = 0;
  let firstFailure: string | undefined;
  const deadline = performance.now() + seconds * 1000;

  // node:http with keep-alive, one socket per chain (keepAliveClient): the lightest client that can
  // follow rotating cookies (autocannon cannot), so the client's own CPU (core 0) weighs as little
  // as the bare variant's `pg` client does.
  const apiUrl = `${process.env.API_URL}/auth/refresh`;
  const http = keepAliveClient(chains.length);
  const httpOnce = async (chain: Chain) => {
    const res = await http.request(apiUrl, {
      method: 'POST',
      headers: { cookie: `${chain.refreshCookie}; ${chain.csrfCookie}`, 'x-csrf-token': chain.csrfToken },
    });
    if (res.status !== 200) throw new Error(`${res.status} ${res.body.slice(0, 200)}`);
    const next = (res.headers['set-cookie'] ?? []).map((c) => c.split(';')[0]!).find((c) => c.startsWith('__Host-lk_rt=') && c.length > 14);
    if (!next) throw new Error('no rotated cookie');
    chain.refreshCookie = next;
  };

  const pgOnce = async (chain: Chain) => {
    chain.refreshCookie = `__Host-lk_rt=${await bareRotation(pool!, chain.refreshCookie.slice('__Host-lk_rt='.length))}`;
  };

  const once = mode === 'pg' ? pgOnce : httpOnce;
  const started = performance.now();
  const cpuStart = process.cpuUsage();
  await Promise.all(
    chains.map(async (chain) => {
      while (performance.now() < deadline) {
        const t0 = performance.now();
        try {
          await once(chain);
          latencies.push(performance.now() - t0);
        } catch (err) {
          failed++;
          firstFailure ??= String(err);
          if (failed > 1000) return;
        }
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  await pool?.end();
  http.close();
  writeFileSync(stateFile, JSON.stringify(chains), { mode: 0o600 });
  const result: RefreshRunResult = {
    completed: latencies.length,
    failed,
    ...(firstFailure ? { firstFailure } : {}),
    seconds: elapsed,
    perSecond: latencies.length / elapsed,
    p50: latencies.length ? percentile(latencies, 50) : NaN,
    p99: latencies.length ? percentile(latencies, 99) : NaN,
    clientCpuUs: latencies.length ? (cpu.user + cpu.system) / latencies.length : NaN,
  };
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
  process.exit(0);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
