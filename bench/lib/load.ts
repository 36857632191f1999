import { spawn } from 'node:child_process';
import path from 'node:path';

const AUTOCANNON = path.resolve(__dirname, '../../node_modules/.bin/autocannon');

/** One load run's figures. */
export interface LoadResult {
  requestsPerSecond: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
}

/**
 * Runs autocannon as its own process (pinned to core 0 when taskset exists, the server being on
 * core 1), so the load generator never shares the server's event loop.
 */
export async function runLoad(options: {
  url: string;
  connections?: number;
  seconds?: number;
  headers?: Record<string, string>;
  core?: number;
}): Promise<LoadResult> {
  const args = ['-c', String(options.connections ?? 50), '-d', String(options.seconds ?? 10), '-j'];
  for (const [k, v] of Object.entries(options.headers ?? {})) args.push('-H', `${k}=${v}`);
  args.push(options.url);
  const [cmd, cmdArgs] = pinned(options.core ?? 0, AUTOCANNON, args);
  const output = await new Promise<string>((resolve, reject) => {
    const child = spawn(cmd, cmdArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`autocannon exited ${code}`))));
  });
  const result = JSON.parse(output.trim().split('\n').pop()!);
  return {
    requestsPerSecond: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx ?? 0,
    errors: result.errors ?? 0,
  };
}

let hasTaskset: boolean | undefined;

/** Wraps a command in `taskset -c <core>` when the machine has it and more than one core. */
export function pinned(core: number, cmd: string, args: string[]): [string, string[]] {
  if (hasTaskset === undefined) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    hasTaskset = require('node:child_process').spawnSync('sh', ['-c', 'command -v taskset']).status === 0 && require('node:os').cpus().length > 1;
  }
  return hasTaskset ? ['taskset', ['-c', String(core), cmd, ...args]] : [cmd, args];
}
