import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { PrintedLines } from './printed-lines';

const ROOT = path.resolve(__dirname, '../..');
const ENTRIES = { api: 'services/api/src/main.ts', worker: 'workers/src/main.ts' } as const;

/**
 * A real API or worker process (the production entry point, `node --import tsx <main.ts>`), for
 * tests that need several of them. Keeps its last lines to wait for readiness and to explain a
 * failure; `stop()` sends SIGTERM (graceful), then SIGKILL if it lingers.
 */
export class ServiceProcess {
  readonly child: ChildProcess;
  private readonly output: PrintedLines;

  constructor(
    readonly kind: keyof typeof ENTRIES,
    env: Record<string, string>,
  ) {
    this.child = spawn(process.execPath, ['--import', 'tsx', ENTRIES[kind]], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.output = new PrintedLines(this.child, `${kind} process`);
  }

  get alive(): boolean {
    return this.output.alive;
  }

  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<void> {
    return this.output.waitFor(pattern, timeoutMs);
  }

  /** Every line printed so far that matches. */
  linesMatching(pattern: RegExp): string[] {
    return this.output.matching(pattern);
  }

  async stop(): Promise<void> {
    if (!this.alive) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  }
}

/** Starts an API process on `port`; resolves once it listens. */
export async function startApiProcess(port: number, env: Record<string, string>): Promise<ServiceProcess> {
  const api = new ServiceProcess('api', { ...env, PORT: String(port) });
  await api.waitForLine(/latchkey api listening/);
  return api;
}

/** Starts a worker process; resolves once its BullMQ worker is connected. */
export async function startWorkerProcess(env: Record<string, string>): Promise<ServiceProcess> {
  const worker = new ServiceProcess('worker', env);
  await worker.waitForLine(/"worker started"/);
  return worker;
}
