import { execFileSync } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');
const TSX = path.join(ROOT, 'node_modules/.bin/tsx');
const TSC = path.join(ROOT, 'node_modules/.bin/tsc');
let built = false;

/**
 * The V8 flags production runs the processes with (Dockerfile): a bounded old space, so V8
 * collects instead of growing the heap lazily on a large machine (P7). BENCH_NODE_FLAGS overrides.
 */
export const API_NODE_FLAGS = (process.env.BENCH_NODE_FLAGS ?? '--max-old-space-size=160').split(' ').filter(Boolean);

/**
 * Benchmarked processes run the compiled JavaScript (`npm run build` → dist/), as production
 * does: under tsx the same code carries about 100 MB more RSS (P7). BENCH_TSX=1 runs the
 * TypeScript sources under tsx instead (quicker to iterate).
 */
export function entryCommand(entryTs: string): [string, string[]] {
  if (process.env.BENCH_TSX) return [TSX, [entryTs]];
  return [process.execPath, [...API_NODE_FLAGS, compiled(entryTs)]];
}

/** The dist/ path of a source file (compiling the project once per run). */
export function compiled(entryTs: string): string {
  if (process.env.BENCH_TSX) return entryTs;
  if (!built) {
    process.stderr.write('bench: compiling to dist/ (npm run build)\n');
    execFileSync(TSC, ['-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
    built = true;
  }
  return path.join(ROOT, 'dist', path.relative(ROOT, path.resolve(entryTs))).replace(/\.ts$/, '.js');
}
