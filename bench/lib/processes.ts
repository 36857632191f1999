import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { pinned } from './load';
import { entryCommand } from './runtime';


/** A child process that printed its readiness line: `READY <json>` on stdout. */
export interface Started<T = Record<string, unknown>> {
  child: ChildProcess;
  info: T;
  stop(): Promise<void>;
}

/** Runs an entry point, compiled (see runtime.ts) and pinned to `core`, resolving once it prints `READY {json}`. */
export function startProcess<T>(entry: string, env: Record<string, string>, core?: number, timeoutMs = 60_000): Promise<Started<T>> {
  const [node, nodeArgs] = entryCommand(entry);
  const [cmd, args] = core === undefined ? [node, nodeArgs] : pinned(core, node, nodeArgs);
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${entry} not ready in ${timeoutMs} ms`)), timeoutMs);
    let buffer = '';
    child.stdout!.on('data', (chunk) => {
      buffer += chunk;
      const line = buffer.split('\n').find((l) => l.startsWith('READY '));
      if (!line) return;
      clearTimeout(timer);
      resolve({
        child,
        info: JSON.parse(line.slice(6)) as T,
        stop: () =>
          new Promise<void>((done) => {
            if (child.exitCode !== null) return done();
            child.once('exit', () => done());
            child.kill('SIGTERM');
            setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
          }),
      });
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${entry} exited with ${code} before it was ready`));
    });
  });
}
