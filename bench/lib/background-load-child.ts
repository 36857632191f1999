interface AutocannonResult {
  requests: { total: number };
  latency: { p50: number; p99: number };
  non2xx: number;
  errors: number;
}
interface AutocannonInstance {
  on(event: 'done', listener: (result: AutocannonResult) => void): void;
  stop(): void;
}
// autocannon ships no type declarations: the few fields used here are typed above.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const autocannon = require('autocannon') as (options: Record<string, unknown>) => AutocannonInstance;

/**
 * Background load for benchmarks that measure something else meanwhile: autocannon against URL
 * (headers from HEADERS as JSON, overall rate RATE req/s, CONNECTIONS) until SIGTERM, then one
 * JSON line with what was served. Prints `READY {}` once started.
 */
const instance = autocannon({
  url: process.env.URL!,
  connections: Number(process.env.CONNECTIONS ?? 50),
  ...(Number(process.env.RATE) > 0 ? { overallRate: Number(process.env.RATE) } : {}),
  headers: JSON.parse(process.env.HEADERS ?? '{}') as Record<string, string>,
  duration: 3600,
});
instance.on('done', (result) => {
  process.stdout.write(
    `${JSON.stringify({
      requestsPerSecond: result.requests.total / Math.max(0.001, (Date.now() - started) / 1000),
      p50: result.latency.p50,
      p99: result.latency.p99,
      non2xx: result.non2xx,
      errors: result.errors,
    })}\n`,
  );
  process.exit(0);
});
const started = Date.now();
process.once('SIGTERM', () => instance.stop());
process.stdout.write('READY {}\n');
