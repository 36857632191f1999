import { createDatabase } from '../../shared/src/db/connection';
import { benchConfig, prepareBenchDatabase } from '../lib/bench-env';
import { benchServiceCredential } from '../lib/fixtures';
import { describeMachine } from '../lib/machine';
import { startApiProcess } from '../lib/product-processes';
import { fmt, median, percentile } from '../lib/stats';
import { SEED, seedAuditRecords, seedOrganizationId, seedUserId } from './seed';

/** A database of its own: 5 million records would slow every other benchmark's appends and scans. */
const AUDIT_DATABASE_URL = process.env.BENCH_AUDIT_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/latchkey_bench_audit';
const ENV = { DATABASE_URL: AUDIT_DATABASE_URL, REDIS_KEY_PREFIX: 'lkbaudit', QUEUE_PREFIX: '{lkbaudit}' };
const DAY = 86_400_000;

interface ExportRun {
  records: number;
  perSecond: number;
  rssGrowthMb: number;
  rssBeforeMb: number;
}

/**
 * P6: 5 million audit records (seeded once, reused), queried through the real API process (core 1)
 * and its query code: `userId` + a 30-day `from`/`to` range, `organizationId` + a type prefix, and a
 * 30-day `from`/`to` window alone (its first page, then the next page by its cursor); then NDJSON
 * exports, unfiltered and of a 30-day window, consumed as fast as the client can, with the API's
 * RSS sampled from its /metrics during each export. Phases alternate each round; p99 over every query.
 */
export async function benchAudit(): Promise<string> {
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  const queriesPerRound = Number(process.env.BENCH_QUERIES ?? 100);
  const target = Number(process.env.BENCH_AUDIT_RECORDS ?? 5_000_000);
  const exportDays = Number(process.env.BENCH_EXPORT_DAYS ?? 30);
  const windowQueriesPerRound = Number(process.env.BENCH_WINDOW_QUERIES ?? queriesPerRound);
  const config = benchConfig(ENV);
  await prepareBenchDatabase(config);
  const db = createDatabase(config, 2);
  let api: Awaited<ReturnType<typeof startApiProcess>> | undefined;
  try {
    const records = await seedAuditRecords(db, config.databaseUrl, target, (m) => process.stderr.write(`${m}\n`));
    const credential = await benchServiceCredential(['audit:read']);
    api = await startApiProcess(ENV, 1);
    const base = api.url;
    const headers = { authorization: `Bearer ${credential}` };
    const now = Date.now();
    const windowStart = (days: number) => now - DAY - Math.random() * (SEED.days - days) * DAY - days * DAY;

    const page = async (query: string): Promise<{ ms: number; nextCursor: string | null }> => {
      const t0 = performance.now();
      const res = await fetch(`${base}/v1/audit-logs?${query}`, { headers });
      const body = (await res.json()) as { items?: unknown[]; nextCursor?: string | null };
      if (res.status !== 200 || !Array.isArray(body.items)) throw new Error(`GET /v1/audit-logs?${query}: ${res.status}`);
      return { ms: performance.now() - t0, nextCursor: body.nextCursor ?? null };
    };
    const timed = async (query: string): Promise<number> => (await page(query)).ms;
    const windowParams = (days: number): Record<string, string> => {
      const from = windowStart(days);
      return { from: new Date(from).toISOString(), to: new Date(from + days * DAY).toISOString() };
    };
    /** A 30-day window alone: its first page, then the next one by the first page's cursor. */
    const windowPages = async (): Promise<{ first: number; next: number }> => {
      const params = windowParams(30);
      const first = await page(new URLSearchParams(params).toString());
      if (!first.nextCursor) throw new Error('a 30-day window of the seeded data has more than one page');
      const next = await page(new URLSearchParams({ ...params, cursor: first.nextCursor }).toString());
      return { first: first.ms, next: next.ms };
    };
    const families = ['refresh_token.*', 'user.*', 'membership.*', 'session.*'];
    const phases = {
      userRange: () => {
        const from = windowStart(30);
        return timed(
          new URLSearchParams({
            userId: seedUserId(Math.floor(Math.random() * SEED.users)),
            from: new Date(from).toISOString(),
            to: new Date(from + 30 * DAY).toISOString(),
          }).toString(),
        );
      },
      orgType: () =>
        timed(
          new URLSearchParams({
            organizationId: seedOrganizationId(Math.floor(Math.random() * SEED.organizations)),
            type: families[Math.floor(Math.random() * families.length)]!,
          }).toString(),
        ),
    };
    /** Streams an export, reading as fast as it can, until `maxRecords` lines or `maxSeconds` (then it hangs up). */
    const exportOnce = async (params: Record<string, string>, maxRecords: number, maxSeconds = 60): Promise<ExportRun> => {
      const rssBefore = await rssOf(base);
      let rssMax = rssBefore;
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          rssMax = Math.max(rssMax, await rssOf(base));
          await new Promise((r) => setTimeout(r, 250));
        }
      })();
      const abort = new AbortController();
      const t0 = performance.now();
      const res = await fetch(`${base}/v1/audit-logs/export?${new URLSearchParams({ format: 'ndjson', ...params })}`, { headers, signal: abort.signal });
      if (res.status !== 200 || !res.body) throw new Error(`export: ${res.status}`);
      let lines = 0;
      try {
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          for (let i = 0; i < chunk.length; i++) if (chunk[i] === 10) lines++;
          if (lines >= maxRecords || performance.now() - t0 > maxSeconds * 1000) {
            abort.abort();
            break;
          }
        }
      } catch (err) {
        if (!abort.signal.aborted) throw err;
      }
      const seconds = (performance.now() - t0) / 1000;
      sampling = false;
      await sampler;
      rssMax = Math.max(rssMax, await rssOf(base));
      return { records: lines, perSecond: lines / seconds, rssGrowthMb: (rssMax - rssBefore) / 2 ** 20, rssBeforeMb: rssBefore / 2 ** 20 };
    };
    const exportRecords = Number(process.env.BENCH_EXPORT_RECORDS ?? 500_000);

    for (let i = 0; i < 20; i++) await Promise.all([phases.userRange(), phases.orgType()]);
    for (let i = 0; i < Math.min(5, windowQueriesPerRound); i++) await windowPages();
    const latencies = { userRange: [] as number[], orgType: [] as number[], windowFirst: [] as number[], windowNext: [] as number[] };
    const roundP99 = { userRange: [] as number[], orgType: [] as number[], windowFirst: [] as number[], windowNext: [] as number[] };
    const exports: ExportRun[] = [];
    const windowedExports: ExportRun[] = [];
    const windowSeconds = Number(process.env.BENCH_WINDOW_EXPORT_SECONDS ?? 30);
    for (let round = 0; round < rounds; round++) {
      for (const name of ['userRange', 'orgType'] as const) {
        const xs: number[] = [];
        for (let q = 0; q < queriesPerRound; q++) xs.push(await phases[name]());
        latencies[name].push(...xs);
        roundP99[name].push(percentile(xs, 99));
      }
      const firsts: number[] = [];
      const nexts: number[] = [];
      for (let q = 0; q < windowQueriesPerRound; q++) {
        const { first, next } = await windowPages();
        firsts.push(first);
        nexts.push(next);
      }
      latencies.windowFirst.push(...firsts);
      latencies.windowNext.push(...nexts);
      roundP99.windowFirst.push(percentile(firsts, 99));
      roundP99.windowNext.push(percentile(nexts, 99));
      exports.push(await exportOnce({}, exportRecords));
      // The export of a random time window (a filter of the contract), read to its end (or the caps).
      windowedExports.push(await exportOnce(windowParams(exportDays), exportRecords, windowSeconds));
      process.stderr.write(
        `audit round ${round + 1}: user+range p99 ${fmt(roundP99.userRange.at(-1)!, 1)} ms, org+type p99 ${fmt(roundP99.orgType.at(-1)!, 1)} ms, window p99 ${fmt(roundP99.windowFirst.at(-1)!, 1)} / ${fmt(roundP99.windowNext.at(-1)!, 1)} ms, export ${fmt(exports.at(-1)!.perSecond, 0)} records/s, window export ${fmt(windowedExports.at(-1)!.perSecond, 0)} records/s, RSS +${fmt(Math.max(exports.at(-1)!.rssGrowthMb, windowedExports.at(-1)!.rssGrowthMb), 1)} MB\n`,
      );
    }
    const p99 = (name: keyof typeof latencies) => percentile(latencies[name], 99);
    const exportRate = median(exports.map((e) => e.perSecond));
    const windowRate = median(windowedExports.map((e) => e.perSecond));
    const rssGrowth = Math.max(...exports.map((e) => e.rssGrowthMb), ...windowedExports.map((e) => e.rssGrowthMb));
    const queriesMet = p99('userRange') <= 50 && p99('orgType') <= 50;
    const windowMet = p99('windowFirst') <= 50 && p99('windowNext') <= 50;
    return [
      '### audit (P6)',
      '',
      `Machine: ${describeMachine()}. Command: \`npm run bench -- audit\` (${fmt(records, 0)} records in \`${new URL(AUDIT_DATABASE_URL).pathname.slice(1)}\`, seeded once by SQL and reused; ${rounds} rounds of ${queriesPerRound} sequential queries per filter and ${windowQueriesPerRound} window-only first pages each followed by its next page, then one unfiltered export (newest first, read until ${exportRecords} records, then the client hangs up) and one export of a random ${exportDays}-day \`from\`/\`to\` window (read to its end, at most ${exportRecords} records or ${windowSeconds} s), alternated; through the real API process pinned to core 1 with a service credential \`audit:read\`, default page of 50).`,
      '',
      '| query (GET /v1/audit-logs) | queries | p50 ms | p99 ms (all) | p99 ms per round (median) |',
      '|---|---|---|---|---|',
      `| userId + 30-day from/to | ${latencies.userRange.length} | ${fmt(percentile(latencies.userRange, 50), 1)} | ${fmt(p99('userRange'), 1)} | ${fmt(median(roundP99.userRange), 1)} |`,
      `| organizationId + type prefix (\`refresh_token.*\`, \`user.*\`, \`membership.*\`, \`session.*\`) | ${latencies.orgType.length} | ${fmt(percentile(latencies.orgType, 50), 1)} | ${fmt(p99('orgType'), 1)} | ${fmt(median(roundP99.orgType), 1)} |`,
      `| 30-day from/to only, first page | ${latencies.windowFirst.length} | ${fmt(percentile(latencies.windowFirst, 50), 1)} | ${fmt(p99('windowFirst'), 1)} | ${fmt(median(roundP99.windowFirst), 1)} |`,
      `| 30-day from/to only, next page (cursor) | ${latencies.windowNext.length} | ${fmt(percentile(latencies.windowNext, 50), 1)} | ${fmt(p99('windowNext'), 1)} | ${fmt(median(roundP99.windowNext), 1)} |`,
      '',
      '| export (NDJSON, GET /v1/audit-logs/export) | records | records/s | API RSS before MB | RSS growth MB |',
      '|---|---|---|---|---|',
      ...exports.map((e, i) => `| unfiltered, round ${i + 1} | ${e.records} | ${fmt(e.perSecond, 0)} | ${fmt(e.rssBeforeMb, 0)} | ${fmt(e.rssGrowthMb, 1)} |`),
      ...windowedExports.map((e, i) => `| from/to = a random ${exportDays}-day window, round ${i + 1} | ${e.records} | ${fmt(e.perSecond, 0)} | ${fmt(e.rssBeforeMb, 0)} | ${fmt(e.rssGrowthMb, 1)} |`),
      '',
      `P6: query p99 **${fmt(p99('userRange'), 1)} ms** (user + range) and **${fmt(p99('orgType'), 1)} ms** (org + type prefix), target ≤ 50: ${queriesMet ? 'met' : '**not met**'}; window-only pages p99 **${fmt(p99('windowFirst'), 1)} ms** (first) and **${fmt(p99('windowNext'), 1)} ms** (next): ${windowMet ? 'met' : '**not met**'}; unfiltered export **${fmt(exportRate, 0)} records/s** and ${exportDays}-day window export **${fmt(windowRate, 0)} records/s** (medians; target ≥ 50,000): ${exportRate >= 50_000 && windowRate >= 50_000 ? 'met' : '**not met**'}; RSS growth at most **${fmt(rssGrowth, 1)} MB** (target ≤ 50): ${rssGrowth <= 50 ? 'met' : '**not met**'}.`,
    ].join('\n');
  } finally {
    await api?.stop();
    await db.close();
  }
}

/** The API's resident memory, from its Prometheus /metrics (prom-client's default process metrics). */
async function rssOf(base: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const m = /^process_resident_memory_bytes (\d+(?:\.\d+)?(?:e\+\d+)?)$/m.exec(text);
  if (!m) throw new Error('no process_resident_memory_bytes in /metrics');
  return Number(m[1]);
}
