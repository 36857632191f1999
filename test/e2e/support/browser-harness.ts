import { rmSync, mkdirSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { startHarness, type Harness } from '../../support/harness';

/** One request as the API answered it, recorded server side. */
export interface ServedRequest {
  method: string;
  path: string;
  status: number;
  origin?: string;
  secFetchSite?: string;
  /** Whether the browser sent the refresh cookie with it. */
  withRefreshCookie: boolean;
  /** The Access-Control-Allow-Origin the API answered with, if any. */
  allowOrigin?: string;
}

/** The API on a real port, reachable at http://localhost:<port> (a secure context for cookies). */
export interface BrowserHarness {
  h: Harness;
  origin: string;
  served: ServedRequest[];
  close(): Promise<void>;
}

async function listen(server: http.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

async function closeServer(server: http.Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/**
 * Listens first (to learn the port), then builds the harness with PUBLIC_URL, ALLOWED_ORIGINS and
 * JWT_ISSUER set to that origin and a 60 s access lifetime (the minimum).
 */
export async function startBrowserHarness(env: Record<string, string> = {}, extraOrigins: string[] = []): Promise<BrowserHarness> {
  const server = http.createServer();
  const port = await listen(server);
  const origin = `http://localhost:${port}`;
  const h = await startHarness({
    PUBLIC_URL: origin,
    JWT_ISSUER: origin,
    ALLOWED_ORIGINS: [origin, ...extraOrigins].join(','),
    ACCESS_TOKEN_TTL: '60',
    ...env,
  });
  const served: ServedRequest[] = [];
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const requestPath = (req.url ?? '').split('?')[0]!; // Express rewrites req.url while routing
    res.on('finish', () =>
      served.push({
        method: req.method ?? '',
        path: requestPath,
        status: res.statusCode,
        origin: req.headers.origin,
        secFetchSite: req.headers['sec-fetch-site'] as string | undefined,
        withRefreshCookie: /(^|;\s*)__Host-lk_rt=/.test(req.headers.cookie ?? ''),
        allowOrigin: res.getHeader('access-control-allow-origin') as string | undefined,
      }),
    );
    h.app(req as never, res as never);
  });
  return {
    h,
    origin,
    served,
    async close() {
      await closeServer(server);
      await h.close();
    },
  };
}

/** A tiny server on another port serving whatever HTML a test gives it (another site or app). */
export async function startOtherServer(html: (origin: string) => string): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
    res.end(html(`http://${req.headers.host}`));
  });
  const port = await listen(server);
  return { port, close: () => closeServer(server) };
}

/** A screenshots folder of this test file's own, emptied at the start of the run. */
export function screenshotFolder(name: string): (page: Page, shot: string) => Promise<void> {
  const dir = path.join(__dirname, '..', '..', 'artifacts', 'screenshots', name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return async (page, shot) => {
    await page.screenshot({ path: path.join(dir, `${shot}.png`), fullPage: true });
  };
}
