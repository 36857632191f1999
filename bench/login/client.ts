import { percentile } from '../lib/stats';

/** What one run of the sign-in client measured. */
export interface LoginRunResult {
  completed: number;
  failed: number;
  firstFailure?: string;
  perSecond: number;
  p50: number;
  p99: number;
}

/**
 * Sign-in load client, its own process (pinned to core 0): CONCURRENCY loops POST JSON bodies from
 * BODIES (cycled) to URL for SECONDS, each answer must be 200; prints `RESULT {json}`.
 */
async function main(): Promise<void> {
  const url = process.env.URL!;
  const bodies = JSON.parse(process.env.BODIES!) as unknown[];
  const concurrency = Number(process.env.CONCURRENCY ?? 16);
  const deadline = performance.now() + Number(process.env.SECONDS ?? 10) * 1000;
  process.stdout.write('READY {}\n');
  const latencies: number[] = [];
  let failed = 0;
  let firstFailure: string | undefined;
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        const body = JSON.stringify(bodies[next++ % bodies.length]);
        const t0 = performance.now();
        try {
          const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
          const text = await res.text();
          if (res.status !== 200) throw new Error(`${res.status} ${text.slice(0, 200)}`);
          latencies.push(performance.now() - t0);
        } catch (err) {
          failed++;
          firstFailure ??= String(err);
          if (failed > 100) return;
        }
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const result: LoginRunResult = {
    completed: latencies.length,
    failed,
    ...(firstFailure ? { firstFailure } : {}),
    perSecond: latencies.length / seconds,
    p50: latencies.length ? percentile(latencies, 50) : NaN,
    p99: latencies.length ? percentile(latencies, 99) : NaN,
  };
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
  process.exit(0);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
