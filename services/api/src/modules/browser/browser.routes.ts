import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Router, type RequestHandler } from 'express';
import { BrowserBundle, CLIENT_PATH, browserSourceDir, etagOf, type Bundle } from './browser-bundle';

/** Serves a compiled module (or a static file) with a strong ETag; browsers revalidate each time. */
function serve(load: () => Promise<Bundle>, type: string, extraHeaders: Record<string, string> = {}): RequestHandler {
  return async (_req, res) => {
    const { code, etag } = await load();
    res.set({ 'Cache-Control': 'no-cache', ETag: etag, ...extraHeaders });
    res.type(type).send(code);
  };
}

/** A file read once and kept, as a Bundle. */
function staticFile(file: string): () => Promise<Bundle> {
  let loaded: Promise<Bundle> | undefined;
  return () => {
    loaded ??= readFile(file, 'utf8').then((code) => ({ code, etag: etagOf(code) }));
    loaded.catch(() => {
      loaded = undefined;
    });
    return loaded;
  };
}

/**
 * The browser side of Latchkey: the client module at `/client/latchkey.js` (loadable by the
 * allowed origins, hence a cross-origin resource policy), the demo page at `/demo`, and the pages
 * the mailed links open (`/verify-email`, `/reset-password`: PUBLIC_URL points the links here). All
 * are HTML, an external script and a stylesheet only, so the strict CSP needs no exception.
 */
export function browserRoutes(): Router {
  const dir = browserSourceDir();
  const client = new BrowserBundle(path.join(dir, 'client', 'latchkey.ts'));
  const demo = new BrowserBundle(path.join(dir, 'demo', 'demo.ts'), { externalClient: true });
  const account = new BrowserBundle(path.join(dir, 'account', 'account.ts'));
  const router = Router();
  router.get(CLIENT_PATH, serve(() => client.get(), 'text/javascript', { 'Cross-Origin-Resource-Policy': 'cross-origin' }));
  router.get('/demo/demo.js', serve(() => demo.get(), 'text/javascript'));
  router.get('/demo/demo.css', serve(staticFile(path.join(dir, 'demo', 'demo.css')), 'text/css'));
  router.get('/demo', serve(staticFile(path.join(dir, 'demo', 'index.html')), 'html'));
  router.get('/account/account.js', serve(() => account.get(), 'text/javascript'));
  const accountPage = serve(staticFile(path.join(dir, 'account', 'index.html')), 'html');
  router.get(['/verify-email', '/reset-password'], accountPage);
  return router;
}
