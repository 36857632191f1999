import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { BENCH_ENV } from './bench-env';
import { pinned } from './load';
import { compiled, entryCommand } from './runtime';

const ROOT = path.resolve(__dirname, '../..');

/** A product process (the real API or worker entry point) started for a benchmark. */
export interface ProductProcess {
  child: ChildProcess;
  port: number;
  url: string;
  stop(): Promise<void>;
}

/** A port free on 127.0.0.1 right now (the OS picks it; the process is told to use it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

async function waitForHttp(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${url}: process exited with ${child.exitCode} before it answered`);
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms`);
}

/**
 * Spawns `entry` (compiled JavaScript unless BENCH_TSX, see runtime.ts). With `profile` (a file), it runs under bench/lib/profiled-entry.ts,
 * which writes a V8 CPU profile there when the process is stopped.
 */
function launch(entry: string, env: Record<string, string>, core: number | undefined, profile?: string): ChildProcess {
  const extra = profile ? { PROFILED_ENTRY: compiled(entry), CPU_PROFILE: profile } : {};
  const [node, nodeArgs] = entryCommand(profile ? path.join(__dirname, 'profiled-entry.ts') : entry);
  const [cmd, args] = core === undefined ? [node, nodeArgs] : pinned(core, node, nodeArgs);
  return spawn(cmd, args, { cwd: ROOT, env: { ...process.env, ...BENCH_ENV, ...env, ...extra }, stdio: ['ignore', 'ignore', 'inherit'] });
}

function stopper(child: ChildProcess): () => Promise<void> {
  return async () => {
    return new Promise<void>((done) => {
      if (child.exitCode !== null || child.signalCode !== null) return done();
      child.once('exit', () => done());
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 15_000).unref();
    });
  };
}

/**
 * Starts the real API (services/api/src/main.ts, compiled) on a free port of 127.0.0.1 with the
 * bench environment plus `env`, pinned to `core`; resolves once /healthz answers.
 */
export async function startApiProcess(env: Record<string, string> = {}, core: number | undefined = 1): Promise<ProductProcess> {
  const port = await freePort();
  // BENCH_PROFILE_API=<file>: profile every API process (one file per port), written when it is stopped.
  const profile = process.env.BENCH_PROFILE_API ? `${process.env.BENCH_PROFILE_API.replace(/\.cpuprofile$/, '')}-${port}.cpuprofile` : undefined;
  const child = launch(path.join(ROOT, 'services/api/src/main.ts'), { PORT: String(port), ...env }, core, profile);
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(`${url}/healthz`, child, 60_000);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return { child, port, url, stop: stopper(child) };
}

/**
 * Starts the real worker (workers/src/main.ts, compiled) with its /metrics on a free port;
 * resolves once that answers (the BullMQ worker is ready before the server listens).
 */
export async function startWorkerProcess(env: Record<string, string> = {}, core?: number): Promise<ProductProcess> {
  const port = await freePort();
  const profile = process.env.BENCH_PROFILE_WORKER ? `${process.env.BENCH_PROFILE_WORKER.replace(/\.cpuprofile$/, '')}-${port}.cpuprofile` : undefined;
  const child = launch(path.join(ROOT, 'workers/src/main.ts'), { WORKER_METRICS_PORT: String(port), ...env }, core, profile);
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(`${url}/metrics`, child, 60_000);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return { child, port, url, stop: stopper(child) };
}
