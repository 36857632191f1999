import path from 'node:path';
import { startProcess } from './processes';

/** What the background load achieved while it ran. */
export interface BackgroundResult {
  requestsPerSecond: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
}

/**
 * Starts autocannon in its own process (pinned to `core`, default 0) at an overall `rate` req/s
 * (0: as fast as it can) until `stop()`, which returns the achieved rate and latencies.
 */
export async function startBackgroundLoad(options: {
  url: string;
  rate: number;
  connections?: number;
  headers?: Record<string, string>;
  core?: number;
}): Promise<{ stop(): Promise<BackgroundResult> }> {
  const started = await startProcess(
    path.join(__dirname, 'background-load-child.ts'),
    {
      URL: options.url,
      RATE: String(Math.round(options.rate)),
      CONNECTIONS: String(options.connections ?? 50),
      HEADERS: JSON.stringify(options.headers ?? {}),
    },
    options.core ?? 0,
  );
  let out = '';
  started.child.stdout!.on('data', (d) => (out += d));
  return {
    async stop() {
      const exited = new Promise<void>((resolve) => started.child.once('exit', () => resolve()));
      started.child.kill('SIGTERM');
      await exited;
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (!line) throw new Error('background load printed no result');
      return JSON.parse(line) as BackgroundResult;
    },
  };
}
