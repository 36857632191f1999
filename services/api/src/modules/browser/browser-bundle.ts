import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { build, type Plugin } from 'esbuild';

/** The published path of the browser client; apps import it from here. */
export const CLIENT_PATH = '/client/latchkey.js';

/**
 * Where the TypeScript sources of the client and the demo live. Under `npm start` (tsx) that is
 * this folder; a `tsc` build in dist/ has no .ts files, so it reads them from the source tree.
 */
export function browserSourceDir(): string {
  if (existsSync(path.join(__dirname, 'client', 'latchkey.ts'))) return __dirname;
  return __dirname.replace(`${path.sep}dist${path.sep}`, path.sep);
}

/** Keeps the demo's import of the client external, pointing at the served client. */
const clientExternal: Plugin = {
  name: 'latchkey-client-external',
  setup(b) {
    b.onResolve({ filter: /\/client\/latchkey$/ }, () => ({ path: CLIENT_PATH, external: true }));
  },
};

/** A strong ETag for a served text: a truncated SHA-256 of it. */
export function etagOf(text: string): string {
  return `"${createHash('sha256').update(text).digest('base64url').slice(0, 27)}"`;
}

/** A compiled browser module with its strong ETag. */
export interface Bundle {
  code: string;
  etag: string;
}

/**
 * Compiles browser TypeScript to one ES module, at the first request, and keeps the result for
 * the life of the process (a failed compile is not cached, so the next request tries again).
 */
export class BrowserBundle {
  private compiled: Promise<Bundle> | undefined;

  constructor(
    private readonly entry: string,
    private readonly options: { externalClient?: boolean } = {},
  ) {}

  get(): Promise<Bundle> {
    if (!this.compiled) {
      this.compiled = this.compile();
      this.compiled.catch(() => {
        this.compiled = undefined;
      });
    }
    return this.compiled;
  }

  private async compile(): Promise<Bundle> {
    const result = await build({
      entryPoints: [this.entry],
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: ['es2020', 'chrome90', 'firefox90', 'safari15'],
      write: false,
      minify: false,
      sourcemap: false,
      legalComments: 'none',
      logLevel: 'silent',
      plugins: this.options.externalClient ? [clientExternal] : [],
    });
    const code = result.outputFiles[0]!.text;
    return { code, etag: etagOf(code) };
  }
}
