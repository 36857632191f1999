import type { ChildProcess } from 'node:child_process';

/**
 * The recent lines a child process prints on stdout and stderr (bounded: `keep` lines at the
 * most), to wait for readiness and to explain a failure. `tee` sees every chunk (e.g. a log file).
 */
export class PrintedLines {
  private lines: string[] = [];

  constructor(
    private readonly child: ChildProcess,
    private readonly name: string,
    private readonly keep = 500,
    tee?: (chunk: Buffer) => void,
  ) {
    let partial = '';
    const onData = (chunk: Buffer) => {
      tee?.(chunk);
      partial += chunk.toString('utf8');
      const parts = partial.split('\n');
      partial = parts.pop() ?? '';
      this.lines.push(...parts);
      if (this.lines.length > this.keep) this.lines = this.lines.slice(-Math.ceil(this.keep / 2));
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Every kept line that matches. */
  matching(pattern: RegExp): string[] {
    return this.lines.filter((l) => pattern.test(l));
  }

  /** Waits until a printed line matches (bounded), or throws with the last lines printed. */
  async waitFor(pattern: RegExp, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.lines.some((l) => pattern.test(l))) return;
      if (!this.alive) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`${this.name} did not print ${pattern} (alive=${this.alive}); last lines:\n${this.lines.slice(-15).join('\n')}`);
  }
}
