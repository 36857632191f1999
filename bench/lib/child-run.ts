import { startProcess } from './processes';

/**
 * Runs a load-client entry (pinned to `core`) to completion: it prints `READY {}` when it starts
 * and `RESULT {json}` before it exits; the parsed result is returned.
 */
export async function runChild<T>(entry: string, env: Record<string, string>, core = 0, timeoutMs = 600_000): Promise<T> {
  const started = await startProcess(entry, env, core);
  let out = '';
  started.child.stdout!.on('data', (d) => (out += d));
  const code = await new Promise<number | null>((resolve, reject) => {
    const timer = setTimeout(() => {
      started.child.kill('SIGKILL');
      reject(new Error(`${entry} did not finish in ${timeoutMs} ms`));
    }, timeoutMs);
    started.child.once('exit', (c) => {
      clearTimeout(timer);
      resolve(c);
    });
  });
  const line = out.split('\n').find((l) => l.startsWith('RESULT '));
  if (code !== 0 || !line) throw new Error(`${entry} exited with ${code} without a result`);
  return JSON.parse(line.slice(7)) as T;
}
