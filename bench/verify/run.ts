import path from 'node:path';
import { benchApi, benchConfig, prepareBenchDatabase, signedInUser } from '../lib/bench-env';
import { runLoad, type LoadResult } from '../lib/load';
import { describeMachine } from '../lib/machine';
import { startProcess, type Started } from '../lib/processes';
import { fmt, median } from '../lib/stats';

export const VARIANTS = ['none', 'jose', 'session', 'latchkey'] as const;
export type Variant = (typeof VARIANTS)[number];
const LABEL: Record<Variant, string> = {
  none: 'no auth (baseline)',
  jose: 'jose ES256 verify only (stateless)',
  session: 'express-session + connect-redis',
  latchkey: 'Latchkey full verification',
};

/** Medians of one verify run, per variant that was run. */
export interface VerifyMeasurement {
  variants: readonly Variant[];
  rps(v: Variant): number;
  p99(v: Variant): number;
  /** Round by round, req/s of `v` over req/s of `base` (each pair measured back to back). */
  roundRatios(v: Variant, base: Variant): number[];
  rss: Record<Variant, number>;
}

/**
 * Loads the variants alternately (A B C D, `rounds` rounds) and returns the medians. `redisUrl`
 * overrides the bench Redis (BENCH_REDIS_URL) for this run, e.g. a `redis+cluster://` URL; the
 * express-session variant needs one Redis server (node-redis client), so it is left out then.
 */
export async function measureVerify(
  options: { rounds?: number; seconds?: number; redisUrl?: string; variants?: readonly Variant[] } = {},
): Promise<VerifyMeasurement> {
  const rounds = options.rounds ?? Number(process.env.BENCH_ROUNDS ?? 3);
  const seconds = options.seconds ?? Number(process.env.BENCH_SECONDS ?? 10);
  const redisEnv: Record<string, string> = options.redisUrl ? { REDIS_URL: options.redisUrl } : {};
  const variants = options.variants ?? VARIANTS;
  await prepareBenchDatabase(benchConfig(redisEnv));
  const api = await benchApi(benchConfig(redisEnv));
  const user = await signedInUser(api.http);
  await api.close();

  const servers = {} as Record<Variant, Started<{ port: number }>>;
  const childEnv: Record<string, string> = options.redisUrl ? { BENCH_REDIS_URL: options.redisUrl } : {};
  for (const v of variants) servers[v] = await startProcess(path.join(__dirname, 'server.ts'), { VARIANT: v, ...childEnv }, 1);
  const sessionCookie = variants.includes('session')
    ? await (async () => {
        const res = await fetch(`http://127.0.0.1:${servers.session.info.port}/__login`, { method: 'POST' });
        return res.headers.get('set-cookie')!.split(';')[0]!;
      })()
    : '';
  const headers: Record<Variant, Record<string, string>> = {
    none: {},
    jose: { authorization: `Bearer ${user.accessToken}` },
    session: { cookie: sessionCookie },
    latchkey: { authorization: `Bearer ${user.accessToken}` },
  };
  const results = Object.fromEntries(VARIANTS.map((v) => [v, [] as LoadResult[]])) as Record<Variant, LoadResult[]>;
  const rss: Record<Variant, number> = { none: 0, jose: 0, session: 0, latchkey: 0 };
  try {
    // Every variant is warmed up the same way first (JIT, connections), so round 1 measures the code, not its warm-up.
    for (const v of variants) await runLoad({ url: `http://127.0.0.1:${servers[v].info.port}/resource`, seconds: 5, headers: headers[v] });
    for (let round = 0; round < rounds; round++) {
      for (const v of variants) {
        const r = await runLoad({ url: `http://127.0.0.1:${servers[v].info.port}/resource`, seconds, headers: headers[v] });
        if (r.non2xx || r.errors) throw new Error(`${v}: ${r.non2xx} non-2xx, ${r.errors} errors: the variant is misconfigured`);
        results[v].push(r);
        const mem = (await (await fetch(`http://127.0.0.1:${servers[v].info.port}/__rss`)).json()) as { rss: number };
        rss[v] = Math.max(rss[v], mem.rss);
        process.stderr.write(`round ${round + 1} ${v}: ${fmt(r.requestsPerSecond, 0)} req/s, p99 ${r.p99} ms\n`);
      }
    }
  } finally {
    await Promise.all(variants.map((v) => servers[v].stop()));
  }
  return {
    variants,
    rps: (v) => median(results[v].map((r) => r.requestsPerSecond)),
    p99: (v) => median(results[v].map((r) => r.p99)),
    roundRatios: (v, base) => results[v].map((r, i) => r.requestsPerSecond / results[base][i]!.requestsPerSecond),
    rss,
  };
}

/**
 * P1 and P7: the same Express app and route under four guards, loaded alternately (A B C D, at
 * least three rounds) by autocannon in its own process; medians and ratios from this one run.
 */
export async function benchVerify(options: { rounds?: number; seconds?: number } = {}): Promise<string> {
  const rounds = options.rounds ?? Number(process.env.BENCH_ROUNDS ?? 3);
  const seconds = options.seconds ?? Number(process.env.BENCH_SECONDS ?? 10);
  const { rps, p99, rss, roundRatios } = await measureVerify({ rounds, seconds });
  const base = rps('none');
  const vsNone = roundRatios('latchkey', 'none');
  const vsSession = roundRatios('latchkey', 'session');
  const lines = [
    `### verify (P1, P7)`,
    '',
    `Machine: ${describeMachine()}. Command: \`npm run bench -- verify\` (${rounds} rounds × ${seconds} s, 50 connections, server pinned to core 1, autocannon to core 0).`,
    '',
    '| variant | req/s (median) | ratio vs no auth | p99 ms (median) | p99 vs no auth | peak RSS MB |',
    '|---|---|---|---|---|---|',
    ...VARIANTS.map((v) => `| ${LABEL[v]} | ${fmt(rps(v), 0)} | ${fmt(rps(v) / base)} | ${p99(v)} | ${fmt(p99(v) / Math.max(1, p99('none')))} | ${fmt(rss[v] / 2 ** 20, 0)} |`),
    '',
    `Per-round ratios (each pair back to back), Latchkey / no auth: ${vsNone.map((r) => fmt(r)).join(', ')}; Latchkey / express-session: ${vsSession.map((r) => fmt(r)).join(', ')}.`,
    '',
    `P1 (medians of the per-round ratios, as quality.md judges): Latchkey / no auth = **${fmt(median(vsNone))}** (target ≥ 0.85; ratio of the medians ${fmt(rps('latchkey') / base)}), p99 ratio ${fmt(p99('latchkey') / Math.max(1, p99('none')))} (target ≤ 1.5), Latchkey / express-session = **${fmt(median(vsSession))}** (target ≥ 1.3). P7: Latchkey RSS ${fmt(rss.latchkey / 2 ** 20, 0)} MB (target ≤ 200).`,
  ];
  return lines.join('\n');
}
