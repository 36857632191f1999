import path from 'node:path';
import { createDatabase } from '../../shared/src/db/connection';
import { startBackgroundLoad, type BackgroundResult } from '../lib/background-load';
import { benchApi, benchConfig, prepareBenchDatabase, signedInUser } from '../lib/bench-env';
import { benchServiceCredential, createBenchUsers, createOrganizationWithMembers, inParallel, login, type BenchSession, type BenchUser } from '../lib/fixtures';
import { runLoad } from '../lib/load';
import { keepAliveClient } from '../lib/http-client';
import { describeMachine } from '../lib/machine';
import { startProcess } from '../lib/processes';
import { startApiProcess, startWorkerProcess, type ProductProcess } from '../lib/product-processes';
import { fmt, median, percentile } from '../lib/stats';
import { checkSynchronousRevocations, type SyncResult } from './synchronous';
import { RoleChangePool } from './role-pool';
import { quantileBetween, readRevocationBuckets, type Buckets } from './worker-lag';

/** This benchmark's own Redis key prefix and queue, shared by its API and worker processes. */
const PREFIX_ENV = { REDIS_KEY_PREFIX: 'lkbrl', QUEUE_PREFIX: '{lkbrl}' };

type Kind = 'membership.role_changed' | 'membership.removed' | 'user.suspended';

/** A background load level; events are posted under each in turn (A B A B). */
interface Level {
  name: 'product backend' | 'API /me';
  label: string;
  rate: number;
  /** The background's route; the probe polls the same route with the old token. */
  url: string;
  samples: Sample[];
  background: BackgroundResult[];
  /** The worker's revocation-lag histogram before and after each phase of this level. */
  workerLag: Array<{ before: Buckets; after: Buckets }>;
}

/** One asynchronous revocation as the probe saw it. */
interface Sample {
  kind: Kind;
  lagMs: number;
  polls: number;
  /** The old token was refused within the probe's deadline. */
  refused: boolean;
}

/**
 * P2 and G1. A real API process (core 1) and a real worker process on the bench database; an
 * organization of users signed in with organization context. Events (role changes, removals,
 * suspensions) are posted at a steady rate through POST /v1/events under two background loads in
 * turn, autocannon with another member's token:
 * - product backend: P1's route (bench/verify's server with the Latchkey guard, core 1, sharing
 *   this run's Redis state) at half its P1 throughput calibrated in this run (aimed a little
 *   higher: autocannon falls short), the traffic P2's condition names (protected requests with
 *   full verification);
 * - API /me: the API's own GET /me (one Postgres read besides the verification) at 50% of its
 *   capacity.
 * For each event a probe polls the loaded route with the affected user's old token, back to back,
 * from the 202 until the first refusal; the lag is the 202's arrival to the refusal's arrival (an
 * upper bound: the true moment lies between the last accepted request and that answer).
 * Then the synchronous revocations: the first request after the answer must be refused, always.
 */
export async function benchRevocationLag(): Promise<string> {
  const totalEvents = Number(process.env.BENCH_EVENTS ?? 1000);
  const eventRate = Number(process.env.BENCH_EVENT_RATE ?? 20);
  const syncEach = Number(process.env.BENCH_SYNC_EACH ?? 30);
  const config = benchConfig(PREFIX_ENV);
  await prepareBenchDatabase(config);

  // P1 throughput of the Latchkey guard, measured now on this machine (bench/verify's server).
  const p1 = await calibrateP1();
  const backgroundTarget = Number(process.env.BENCH_BACKGROUND_RPS ?? Math.ceil(p1 * 0.53));
  process.stderr.write(`revocation-lag: P1 Latchkey throughput ${fmt(p1, 0)} req/s, background target ${backgroundTarget} req/s\n`);

  const db = createDatabase(config, 4);
  const processes: Array<Pick<ProductProcess, 'stop'>> = [];
  let background: { stop(): Promise<BackgroundResult> } | undefined;
  try {
    const credential = await benchServiceCredential(['events:write', 'organizations:write']);
    const api = await startApiProcess(PREFIX_ENV, 1);
    processes.push(api);
    const otherApi = await startApiProcess(PREFIX_ENV, 0);
    processes.push(otherApi);
    const worker = await startWorkerProcess(PREFIX_ENV);
    processes.push(worker);
    const backend = await startProcess<{ port: number }>(path.join(__dirname, '../verify/server.ts'), { VARIANT: 'latchkey', ...PREFIX_ENV }, 1);
    processes.push({ stop: () => backend.stop() });

    const kinds = schedule(totalEvents);
    const count = (k: Kind) => kinds.filter((x) => x === k).length;
    const poolSize = Math.min(count('membership.role_changed'), 40);
    const users = await createBenchUsers(db, poolSize + count('membership.removed') + count('user.suspended') + 1, 'lag');
    const orgId = await createOrganizationWithMembers(api.url, credential, users);
    process.stderr.write(`revocation-lag: ${users.length} members; signing them in\n`);
    const sessions = await inParallel(users, 4, (u) => login(api.url, u.email, orgId));
    const [backgroundSession] = sessions.splice(sessions.length - 1, 1) as [BenchSession];
    const pool = new RoleChangePool(api.url, users.slice(0, poolSize), sessions.slice(0, poolSize));
    await pool.prepare();
    const oneShot: Array<{ user: BenchUser; session: BenchSession }> = users
      .slice(poolSize, users.length - 1)
      .map((user, i) => ({ user, session: sessions[poolSize + i]! }));

    // The API's own capacity on the background route, to also run at a load it can sustain.
    const meUrl = `${api.url}/me`;
    const bgHeaders = { authorization: `Bearer ${backgroundSession.accessToken}` };
    const meCapacity = (await runLoad({ url: meUrl, seconds: 5, headers: bgHeaders })).requestsPerSecond;
    const backendUrl = `http://127.0.0.1:${backend.info.port}/resource`;
    const levels: Level[] = [
      { name: 'product backend', label: `GET /resource of bench/verify's Latchkey server (P1's route) at ${backgroundTarget} req/s (aimed at 53% of P1, as autocannon falls a little short)`, url: backendUrl, rate: backgroundTarget, samples: [], background: [], workerLag: [] },
      { name: 'API /me', label: `the API's GET /me at ${Math.round(meCapacity / 2)} req/s (50% of its capacity, ${fmt(meCapacity, 0)} req/s)`, url: meUrl, rate: Math.round(meCapacity / 2), samples: [], background: [], workerLag: [] },
    ];
    const rounds = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 2));
    const perPhase = Math.ceil(kinds.length / (rounds * levels.length));
    const failures: string[] = [];
    let postingSeconds = 0;
    let next = 0;
    for (let round = 0; round < rounds; round++) {
      for (const level of levels) {
        const slice = kinds.slice(next, next + perPhase);
        next += slice.length;
        if (slice.length === 0) continue;
        background = await startBackgroundLoad({ url: level.url, rate: level.rate, headers: bgHeaders });
        await new Promise((r) => setTimeout(r, 2_000));
        const lagBefore = await readRevocationBuckets(worker.url);
        const started = performance.now();
        const tasks: Promise<void>[] = [];
        for (let i = 0; i < slice.length; i++) {
          const due = started + (i * 1000) / eventRate;
          const wait = due - performance.now();
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
          const kind = slice[i]!;
          tasks.push(
            (async () => {
              const member = kind === 'membership.role_changed' ? await pool.take() : undefined;
              const subject = member ?? oneShot.pop()!;
              const data =
                kind === 'user.suspended'
                  ? { userId: subject.user.id, reason: 'bench' }
                  : kind === 'membership.removed'
                    ? { organizationId: orgId, userId: subject.user.id }
                    : { organizationId: orgId, userId: subject.user.id, role: pool.nextRole(subject.user.id) };
              try {
                const sample = await measureOne(api.url, credential, kind, data, level.url, subject.session.accessToken);
                if (!sample.refused) failures.push(`${kind}: old token still accepted after 10 s`);
                level.samples.push(sample);
              } finally {
                if (member) await pool.give(member);
              }
            })().catch((err: unknown) => {
              failures.push(`${kind}: ${String(err)}`);
            }),
          );
        }
        await Promise.all(tasks);
        level.workerLag.push({ before: lagBefore, after: await readRevocationBuckets(worker.url) });
        postingSeconds += (performance.now() - started) / 1000;
        level.background.push(await background.stop());
        background = undefined;
        process.stderr.write(`revocation-lag: round ${round + 1} ${level.name}: ${level.samples.length} samples so far\n`);
      }
    }
    // G1 under the /me background load, on this API and on a second API process.
    background = await startBackgroundLoad({ url: meUrl, rate: levels[1]!.rate, headers: bgHeaders });
    const sync = await checkSynchronousRevocations(db, api.url, otherApi.url, syncEach);
    const syncBackground = await background.stop();
    background = undefined;
    return report({ levels, failures, sync, syncBackground, p1, eventRate, postingSeconds, rounds });
  } finally {
    await background?.stop().catch(() => undefined);
    await Promise.all(processes.map((p) => p.stop()));
    await db.close();
    client.close();
  }
}

/** Sums the phases' histogram differences into one before/after pair. */
function mergePhases(phases: Array<{ before: Buckets; after: Buckets }>): { before: Buckets; after: Buckets } {
  const before: Buckets = new Map();
  const after: Buckets = new Map();
  for (const { before: b, after: a } of phases) {
    for (const [le, n] of a) after.set(le, (after.get(le) ?? 0) + n - (b.get(le) ?? 0));
  }
  return { before, after };
}

/** 60% role changes, 20% removals, 20% suspensions, interleaved. */
function schedule(n: number): Kind[] {
  const cycle: Kind[] = ['membership.role_changed', 'membership.removed', 'membership.role_changed', 'user.suspended', 'membership.role_changed'];
  return Array.from({ length: n }, (_, i) => cycle[i % cycle.length]!);
}

/**
 * The probe's and the poster's connections: keep-alive node:http, so a poll costs the loaded
 * machine as little client CPU as it can (`fetch` costs several times more per request, and every
 * poll's client work is counted in the lag).
 */
const client = keepAliveClient();

/** One probe request with `token`: 200 accepted, 401 refused (its problem body), anything else throws. */
async function probe(url: string, token: string): Promise<{ accepted: boolean; body: string }> {
  const res = await client.request(url, { headers: { authorization: `Bearer ${token}` } });
  if (res.status !== 200 && res.status !== 401) throw new Error(`probe got ${res.status}: ${res.body.slice(0, 200)}`);
  return { accepted: res.status === 200, body: res.body };
}

/** Posts one event and polls `probeUrl` with the old token until it is refused (at most 10 s). */
async function measureOne(apiUrl: string, credential: string, kind: Kind, data: Record<string, unknown>, probeUrl: string, oldToken: string): Promise<Sample> {
  const before = await probe(probeUrl, oldToken);
  if (!before.accepted) throw new Error(`old token refused before the event was sent: ${before.body.slice(0, 200)}`);
  const res = await client.request(`${apiUrl}/v1/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${credential}`, 'content-type': 'application/json' },
    body: JSON.stringify({ type: kind, data }),
  });
  if (res.status !== 202) throw new Error(`POST /v1/events answered ${res.status}`);
  const accepted = performance.now();
  let polls = 0;
  while (performance.now() - accepted < 10_000) {
    polls++;
    if (!(await probe(probeUrl, oldToken)).accepted) return { kind, lagMs: performance.now() - accepted, polls, refused: true };
  }
  return { kind, lagMs: performance.now() - accepted, polls, refused: false };
}

/** Req/s of bench/verify's server with the Latchkey guard, 5 s of autocannon (the P1 figure). */
async function calibrateP1(): Promise<number> {
  const api = await benchApi(benchConfig());
  const user = await signedInUser(api.http);
  await api.close();
  const server = await startProcess<{ port: number }>(path.join(__dirname, '../verify/server.ts'), { VARIANT: 'latchkey' }, 1);
  try {
    const url = `http://127.0.0.1:${server.info.port}/resource`;
    const headers = { authorization: `Bearer ${user.accessToken}` };
    await runLoad({ url, seconds: 2, headers });
    return (await runLoad({ url, seconds: 5, headers })).requestsPerSecond;
  } finally {
    await server.stop();
  }
}

function report(r: {
  levels: Level[];
  failures: string[];
  sync: SyncResult[];
  syncBackground: BackgroundResult;
  p1: number;
  eventRate: number;
  postingSeconds: number;
  rounds: number;
}): string {
  const kinds: Kind[] = ['membership.role_changed', 'membership.removed', 'user.suspended'];
  const lagsOf = (xs: Sample[]) => xs.filter((s) => s.refused).map((s) => s.lagMs);
  const row = (label: string, xs: Sample[]) => {
    const l = lagsOf(xs);
    return l.length
      ? `| ${label} | ${xs.length} | ${fmt(percentile(l, 50), 1)} | ${fmt(percentile(l, 99), 1)} | ${fmt(Math.max(...l), 1)} | ${fmt(median(xs.map((s) => s.polls)), 0)} |`
      : `| ${label} | ${xs.length} | - | - | - | - |`;
  };
  const total = r.levels.reduce((n, l) => n + l.samples.length, 0);
  const syncFailures = r.sync.reduce((n, s) => n + s.failures, 0);
  const lines = [
    '### revocation-lag (P2, G1)',
    '',
    `Machine: ${describeMachine()}. Command: \`npm run bench -- revocation-lag\` (${total} events at ${r.eventRate}/s, ${r.rounds} rounds alternating two background levels, ${fmt(r.postingSeconds, 0)} s of posting; one API process and the product backend pinned to core 1, a second API process on core 0, one worker process unpinned, autocannon on core 0). The lag runs from the 202's arrival to the arrival of the first refused answer to a probe polling the loaded route back to back with the old token (an upper bound: its resolution is one probe round trip).`,
    '',
  ];
  for (const level of r.levels) {
    const bgRps = median(level.background.map((b) => b.requestsPerSecond));
    const bgP99 = median(level.background.map((b) => b.p99));
    const l = lagsOf(level.samples);
    const p50 = l.length ? percentile(l, 50) : NaN;
    const p99 = l.length ? percentile(l, 99) : NaN;
    const share = bgRps / r.p1;
    const merged = mergePhases(level.workerLag);
    const w50 = quantileBetween(merged.before, merged.after, 0.5);
    const w99 = quantileBetween(merged.before, merged.after, 0.99);
    lines.push(
      `**Background ${level.name}: ${level.label}**, another member's token: achieved ${fmt(bgRps, 0)} req/s (median of rounds) = **${fmt(share)}× P1** (P1 Latchkey throughput on bench/verify's route measured in this run: ${fmt(r.p1, 0)} req/s), background p99 ${bgP99} ms.`,
      '',
      '| event | count | lag p50 ms | lag p99 ms | max ms | probe polls (median) |',
      '|---|---|---|---|---|---|',
      ...kinds.map((k) => row(k, level.samples.filter((s) => s.kind === k))),
      row('all', level.samples),
      '',
      `The worker's own revocation lag (its \`latchkey_revocation_lag_seconds\` histogram over these phases, ${w50.count} revoking events: from the event row being stored to its Redis write-through returning; bucket-interpolated): p50 ≈ ${fmt(w50.value * 1000, 1)} ms, p99 ≈ ${fmt(w99.value * 1000, 1)} ms. The rest of the probe's figure is the probe's own resolution: round trips on the loaded route.`,
      '',
      `P2 at this level: lag p50 **${fmt(p50, 1)} ms** (target ≤ 10), p99 **${fmt(p99, 1)} ms** (target ≤ 50), background ${fmt(share)}× P1 (condition ≥ 0.5): ${p50 <= 10 && p99 <= 50 && share >= 0.5 ? 'met' : '**not met**'}.`,
      '',
    );
  }
  lines.push(
    `${r.failures.length} events failed to measure${r.failures.length ? ` (first: ${r.failures[0]})` : ''}.`,
    '',
    '| synchronous revocation (G1) | tries | first request after the answer accepted |',
    '|---|---|---|',
    ...r.sync.map((s) => `| ${s.name} | ${s.tries} | ${s.failures} |`),
    '',
    `G1: ${syncFailures === 0 ? 'met' : '**not met**'}: ${syncFailures} of ${r.sync.reduce((n, s) => n + s.tries, 0)} first requests after the answer were accepted (each checked on the answering API and on a second API process, in parallel, under background load of ${fmt(r.syncBackground.requestsPerSecond, 0)} req/s).`,
  );
  return lines.join('\n');
}
