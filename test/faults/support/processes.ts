import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, createWriteStream, type WriteStream } from 'node:fs';
import path from 'node:path';
import { PrintedLines } from '../../support/printed-lines';
import { LOG_DIR, PIDS_FILE } from './evidence';
import { liveGroupMembers } from './process-groups';
import { PROCESS_ENV } from './fault-env';

const ROOT = path.resolve(__dirname, '../../..');
const ENTRIES = { api: 'services/api/src/main.ts', worker: 'workers/src/main.ts' } as const;

const running = new Set<ServiceProcess>();
const started = new Set<ServiceProcess>();

/**
 * An API or worker process of the fault suite. It runs `node --import tsx <entry>` (what `npx tsx`
 * runs, without tsx's wrapper process) in a process group of its own, so a SIGKILL reaches the
 * real process and nothing it started survives. Every line it prints goes to the evidence folder.
 */
export class ServiceProcess {
  readonly child: ChildProcess;
  readonly logFile: string;
  private readonly log: WriteStream;
  private readonly output: PrintedLines;
  private exited: Promise<number | null>;

  constructor(
    readonly kind: keyof typeof ENTRIES,
    readonly name: string,
    env: Record<string, string>,
  ) {
    this.logFile = path.join(LOG_DIR(), `${name}-${Date.now()}.log`);
    this.log = createWriteStream(this.logFile, { flags: 'a' });
    this.child = spawn(process.execPath, ['--import', 'tsx', ENTRIES[kind]], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...PROCESS_ENV, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    appendFileSync(PIDS_FILE(), `${this.child.pid}\n`);
    running.add(this);
    started.add(this);
    // Only recent lines are kept in memory (readiness checks); the file has all of them.
    this.output = new PrintedLines(this.child, name, 2_000, (chunk) => this.log.write(chunk));
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
    void this.exited.then(() => {
      running.delete(this);
      this.log.end();
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  get alive(): boolean {
    return this.output.alive;
  }

  /** Waits until a printed line matches (bounded), or throws with the last lines printed. */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<void> {
    return this.output.waitFor(pattern, timeoutMs);
  }

  /** True while any process of the group (the entry or a helper it started, e.g. esbuild) is alive. */
  groupAlive(): boolean {
    return liveGroupMembers(this.pid).length > 0;
  }

  /**
   * Sends a signal to the whole process group and waits (bounded) for the process to exit; after a
   * SIGKILL, also until no process of its group is left.
   */
  async kill(signal: NodeJS.Signals = 'SIGKILL', timeoutMs = 15_000): Promise<void> {
    if (!this.alive) {
      if (signal === 'SIGKILL') await this.reapGroup();
      return;
    }
    try {
      process.kill(-this.pid, signal);
    } catch {
      /* already gone */
    }
    // Unref'd: a bound that is not reached must not keep the test process alive afterwards.
    const timer = new Promise((r) => setTimeout(r, timeoutMs).unref());
    await Promise.race([this.exited, timer]);
    if (this.alive) {
      try {
        process.kill(-this.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
      await Promise.race([this.exited, new Promise((r) => setTimeout(r, 5_000).unref())]);
    }
    if (signal === 'SIGKILL') await this.reapGroup();
  }

  private async reapGroup(): Promise<void> {
    for (let i = 0; i < 50 && this.groupAlive(); i++) {
      try {
        process.kill(-this.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** Starts an API process on `port` and waits until it answers /healthz. */
export async function startApi(name: string, port: number, env: Record<string, string>): Promise<ServiceProcess> {
  const api = new ServiceProcess('api', name, { PORT: String(port), ...env });
  await api.waitForLine(/latchkey api listening/);
  return api;
}

/** Starts a worker process and waits until its BullMQ worker is connected. */
export async function startWorkerProcess(name: string, env: Record<string, string>): Promise<ServiceProcess> {
  const worker = new ServiceProcess('worker', name, env);
  await worker.waitForLine(/"worker started"/);
  return worker;
}

/** SIGKILLs every process the suite started that is still running (afterAll, also on failure). */
export async function killAll(): Promise<void> {
  await Promise.all([...started].map((p) => p.kill('SIGKILL', 5_000)));
  started.clear();
}

// A crashed or interrupted test run still takes its processes with it.
process.once('exit', () => {
  for (const p of started) {
    try {
      process.kill(-p.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
});
