import path from 'node:path';
import { createDatabase } from '../../shared/src/db/connection';
import { startBackgroundLoad, type BackgroundResult } from '../lib/background-load';
import { benchConfig, prepareBenchDatabase } from '../lib/bench-env';
import { runChild } from '../lib/child-run';
import { BENCH_PASSWORD, createBenchUsers, login } from '../lib/fixtures';
import { describeMachine } from '../lib/machine';
import { processCpuMs } from '../lib/process-cpu';
import { startProcess } from '../lib/processes';
import { startApiProcess } from '../lib/product-processes';
import { fmt, median } from '../lib/stats';
import type { LoginRunResult } from './client';

/** Its own key prefix and queue: the sign-ins' events are not this benchmark's subject. */
const PREFIX_ENV = { REDIS_KEY_PREFIX: 'lkblogin', QUEUE_PREFIX: '{lkblogin}' };

/**
 * P4. Throughput: POST /auth/login on the real API (core 1) against a bare node:http server doing
 * one argon2id verify with the same parameters (core 1, same process model), the same client
 * process (core 0, CONCURRENCY in flight). Starvation: GET /me p99 at a fixed modest rate, alone
 * and while the sign-in client saturates the API. Phases alternate each round; medians.
 */
export async function benchLogin(): Promise<string> {
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  const seconds = Number(process.env.BENCH_SECONDS ?? 10);
  const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 16);
  const probeRate = Number(process.env.BENCH_PROBE_RPS ?? 100);
  const config = benchConfig(PREFIX_ENV);
  await prepareBenchDatabase(config);
  const db = createDatabase(config, 2);
  const api = await startApiProcess({ ...PREFIX_ENV, ...(process.env.UV_THREADPOOL_SIZE ? { UV_THREADPOOL_SIZE: process.env.UV_THREADPOOL_SIZE } : {}) }, 1);
  const bare = await startProcess<{ port: number }>(path.join(__dirname, 'argon2-server.ts'), {}, 1);
  try {
    const users = await createBenchUsers(db, 50, 'login');
    const probeUser = await login(api.url, users[0]!.email);
    const client = (url: string, bodies: unknown[], secs: number) =>
      runChild<LoginRunResult>(path.join(__dirname, 'client.ts'), {
        URL: url,
        BODIES: JSON.stringify(bodies),
        CONCURRENCY: String(concurrency),
        SECONDS: String(secs),
      });
    const loginBodies = users.map((u) => ({ email: u.email, password: BENCH_PASSWORD }));
    // Each phase also reports the server's CPU time per sign-in (every thread: event loop,
    // threadpool, GC): the bare server's is about one hash; the rest of the API's is what a
    // sign-in costs besides the hash on the same core.
    const measured = async (pid: number | undefined, run: () => Promise<LoginRunResult>) => {
      const before = processCpuMs(pid);
      const result = await run();
      const after = processCpuMs(pid);
      return { ...result, cpuMsPerSignIn: before === undefined || after === undefined ? NaN : (after - before) / Math.max(1, result.completed) };
    };
    const phases = {
      argon2: (secs: number) => measured(bare.child.pid, () => client(`http://127.0.0.1:${bare.info.port}/verify`, [{ password: BENCH_PASSWORD }], secs)),
      login: (secs: number) => measured(api.child.pid, () => client(`${api.url}/auth/login`, loginBodies, secs)),
    };
    const probe = () =>
      startBackgroundLoad({ url: `${api.url}/me`, rate: probeRate, connections: 10, headers: { authorization: `Bearer ${probeUser.accessToken}` } });
    const probeAlone = async (secs: number): Promise<BackgroundResult> => {
      const p = await probe();
      await new Promise((r) => setTimeout(r, secs * 1000));
      return p.stop();
    };
    const probeUnderLogins = async (secs: number): Promise<{ probe: BackgroundResult; logins: LoginRunResult }> => {
      const p = await probe();
      const logins = await phases.login(secs);
      return { probe: await p.stop(), logins };
    };

    await phases.argon2(2);
    await phases.login(2);
    type Measured = LoginRunResult & { cpuMsPerSignIn: number };
    const argon2: Measured[] = [];
    const logins: Measured[] = [];
    const idle: BackgroundResult[] = [];
    const loaded: Array<{ probe: BackgroundResult; logins: LoginRunResult }> = [];
    const check = <R extends LoginRunResult>(what: string, r: R): R => {
      if (r.failed) throw new Error(`${what}: ${r.failed} failed (${r.firstFailure})`);
      return r;
    };
    for (let round = 0; round < rounds; round++) {
      argon2.push(check('argon2', await phases.argon2(seconds)));
      logins.push(check('login', await phases.login(seconds)));
      idle.push(await probeAlone(seconds));
      loaded.push(await probeUnderLogins(seconds));
      process.stderr.write(
        `login round ${round + 1}: argon2 ${fmt(argon2.at(-1)!.perSecond, 1)}/s (${fmt(argon2.at(-1)!.cpuMsPerSignIn, 1)} ms CPU each), login ${fmt(logins.at(-1)!.perSecond, 1)}/s (${fmt(logins.at(-1)!.cpuMsPerSignIn, 1)} ms CPU each), ratio ${fmt(logins.at(-1)!.perSecond / argon2.at(-1)!.perSecond)}, /me p99 idle ${idle.at(-1)!.p99} ms, under logins ${loaded.at(-1)!.probe.p99} ms\n`,
      );
    }
    const rate = (xs: LoginRunResult[]) => median(xs.map((r) => r.perSecond));
    // quality.md: the median of the per-round ratios (each round's phases ran side by side).
    const roundRatios = logins.map((r, i) => r.perSecond / argon2[i]!.perSecond);
    const ratio = median(roundRatios);
    const idleP99 = median(idle.map((r) => r.p99));
    const loadedP99 = median(loaded.map((r) => r.probe.p99));
    const p99Ratio = loadedP99 / Math.max(1, idleP99);
    return [
      '### login (P4)',
      '',
      `Machine: ${describeMachine()}. Command: \`npm run bench -- login\` (${rounds} rounds × ${seconds} s per phase, phases alternated, ${concurrency} sign-ins in flight from one client process on core 0; API and bare server pinned to core 1, so their libuv threadpools share that core; UV_THREADPOOL_SIZE ${process.env.UV_THREADPOOL_SIZE ?? 'default (4)'}).`,
      '',
      '| variant | sign-ins/s (median) | ratio vs bare argon2id | per-round ratios | server CPU ms per sign-in (median) | p50 ms | p99 ms |',
      '|---|---|---|---|---|---|---|',
      `| bare argon2id verify (node:http, same parameters) | ${fmt(rate(argon2), 1)} | 1.00 | | ${fmt(median(argon2.map((r) => r.cpuMsPerSignIn)), 1)} | ${fmt(median(argon2.map((r) => r.p50)), 0)} | ${fmt(median(argon2.map((r) => r.p99)), 0)} |`,
      `| Latchkey POST /auth/login | ${fmt(rate(logins), 1)} | ${fmt(rate(logins) / rate(argon2))} | ${roundRatios.map((r) => fmt(r)).join(', ')} | ${fmt(median(logins.map((r) => r.cpuMsPerSignIn)), 1)} | ${fmt(median(logins.map((r) => r.p50)), 0)} | ${fmt(median(logins.map((r) => r.p99)), 0)} |`,
      '',
      `| GET /me at ${probeRate} req/s (10 connections) | achieved req/s | p50 ms | p99 ms (median) |`,
      '|---|---|---|---|',
      `| alone | ${fmt(median(idle.map((r) => r.requestsPerSecond)), 0)} | ${median(idle.map((r) => r.p50))} | ${idleP99} |`,
      `| while sign-ins saturate the API (${fmt(median(loaded.map((r) => r.logins.perSecond)), 1)} sign-ins/s) | ${fmt(median(loaded.map((r) => r.probe.requestsPerSecond)), 0)} | ${median(loaded.map((r) => r.probe.p50))} | ${loadedP99} |`,
      '',
      `P4: login / bare argon2id = **${fmt(ratio)}** (median of the per-round ratios; target ≥ 0.9): ${ratio >= 0.9 ? 'met' : '**not met**'}; protected-route p99 under sign-ins / alone = **${fmt(p99Ratio)}** (target ≤ 2): ${p99Ratio <= 2 ? 'met' : '**not met**'}.`,
    ].join('\n');
  } finally {
    await Promise.all([api.stop(), bare.stop()]);
    await db.close();
  }
}
