import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';

/**
 * Starts a V8 CPU profile when CPU_PROFILE names a file (the `--cpu-prof` flag is refused in
 * NODE_OPTIONS and the servers run under tsx); returns a function that writes it.
 */
export function startCpuProfile(file = process.env.CPU_PROFILE): () => Promise<void> {
  if (!file) return async () => undefined;
  const session = new Session();
  session.connect();
  session.post('Profiler.enable', () => session.post('Profiler.start'));
  return () =>
    new Promise((resolve) => {
      session.post('Profiler.stop', (err, result) => {
        if (!err) writeFileSync(file, JSON.stringify(result.profile));
        resolve();
      });
    });
}

/** Summarises a .cpuprofile: self time per function, the top `n`. */
export function topFunctions(profile: { nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number } }>; samples: number[] }, n = 25) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const counts = new Map<string, number>();
  for (const id of profile.samples) {
    const frame = byId.get(id)!.callFrame;
    const name = `${frame.functionName || '(anonymous)'} ${frame.url.replace(/.*node_modules\//, '').replace(/.*\/work\/main\//, '')}:${frame.lineNumber}`;
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  const total = profile.samples.length;
  return [...counts].sort((a, b) => b[1] - a[1]).slice(0, n).map(([name, c]) => `${((100 * c) / total).toFixed(1)}% ${name}`);
}
