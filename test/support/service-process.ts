import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');
const ENTRIES = { api: 'services/api/src/main.ts', worker: 'workers/src/main.ts' } as const;

/**
 * A real API or worker process (the production entry point, `node --import tsx <main.ts>`), for
 * tests that need several of them. Keeps its last lines to wait for readiness and to explain a
 * failure; `stop()` sends SIGTERM (graceful), then SIGKILL if it lingers.
 */
export class ServiceProcess {
  readonly child: ChildProcess;
  private lines: string[] = [];

  constructor(
    readonly kind: keyof typeof ENTRIES,
    env: Record<string, string>,
  ) {
    this.child = spawn(process.execPath, ['--import', 'tsx', ENTRIES[kind]], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let partial = '';
    const onData = (chunk: Buffer) => {
      partial += chunk.toString('utf8');
      const parts = partial.split('\n');
      partial = parts.pop() ?? '';
      this.lines.push(...parts);
      if (this.lines.length > 500) this.lines = this.lines.slice(-250);
    };
    this.child.stdout!.on('data', onData);
    this.child.stderr!.on('data', onData);
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  async waitForLine(pattern: RegExp, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.lines.some((l) => pattern.test(l))) return;
      if (!this.alive) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`${this.kind} process did not print ${pattern} (alive=${this.alive}); last lines:\n${this.lines.slice(-15).join('\n')}`);
  }

  /** Every line printed so far that matches. */
  linesMatching(pattern: RegExp): string[] {
    return this.lines.filter((l) => pattern.test(l));
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
