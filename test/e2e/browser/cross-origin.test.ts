import type { Browser, BrowserContext, Page } from 'playwright-core';
import { QueryTypes } from 'sequelize';
import { PASSWORD, uniqueEmail } from '../../support/harness';
import { launchChromium } from '../support/chromium';
import { screenshotFolder, startBrowserHarness, startOtherServer, type BrowserHarness } from '../support/browser-harness';
import { openDemo, signInOnPage } from '../support/demo-page';

jest.setTimeout(180_000);

let bh: BrowserHarness;
let browser: Browser;
let context: BrowserContext;
let attacker: { port: number; close(): Promise<void> };
let app: { port: number; close(): Promise<void> };
const shot = screenshotFolder('cross-origin');

beforeAll(async () => {
  browser = await launchChromium();
  attacker = await startOtherServer(() => '<!doctype html><title>Another site</title><h1>Another site</h1>');
  // A first-party app on another origin that loads the client from the API (module script, CORS).
  app = await startOtherServer(
    () => `<!doctype html><title>First-party app</title><h1>First-party app</h1>
<script type="module">
  import { createLatchkey } from '${bh.origin}/client/latchkey.js';
  window.client = createLatchkey({ baseUrl: '${bh.origin}', name: 'app' });
  document.body.dataset.ready = 'true';
</script>`,
  );
  bh = await startBrowserHarness({}, [`http://localhost:${app.port}`]);
});

afterAll(async () => {
  await browser?.close();
  await Promise.all([attacker?.close(), app?.close()]);
  await bh?.close();
});

beforeEach(async () => {
  context = await browser.newContext();
});

afterEach(async () => {
  await context.close();
});

async function victim(): Promise<{ page: Page; sessionId: string }> {
  const email = uniqueEmail('victim');
  expect((await bh.h.http.post('/auth/register').send({ email, password: PASSWORD })).status).toBe(202);
  const page = await openDemo(context, bh.origin);
  await signInOnPage(page, email, PASSWORD);
  const sessionId = await page.evaluate(
    () => (window as unknown as { latchkeyDemo: { client: { current: { sessionId: string } } } }).latchkeyDemo.client.current.sessionId,
  );
  return { page, sessionId };
}

async function familyState(sessionId: string): Promise<{ revoked: boolean; tokens: number }> {
  const [row] = await bh.h.deps.db.query<{ revoked: boolean; tokens: number }>(
    `SELECT s.revoked_at IS NOT NULL AS revoked, (SELECT count(*)::int FROM refresh_tokens WHERE session_id = s.id) AS tokens
     FROM sessions s WHERE s.id = :id`,
    { type: QueryTypes.SELECT, replacements: { id: sessionId } },
  );
  return row!;
}

/** What a hostile page can try with fetch: simple requests (they reach the server) and CORS ones. */
async function attack(page: Page, api: string): Promise<Record<string, string>> {
  return page.evaluate(async (api) => {
    const out: Record<string, string> = {};
    for (const path of ['/auth/refresh', '/auth/logout']) {
      try {
        // Reaches the server; the answer is opaque, or withheld entirely by its resource policy.
        const simple = await fetch(api + path, { method: 'POST', mode: 'no-cors', credentials: 'include' });
        out[`${path} no-cors`] = simple.type === 'opaque' ? 'unreadable' : `readable ${simple.status}`;
      } catch {
        out[`${path} no-cors`] = 'unreadable';
      }
      try {
        const res = await fetch(api + path, { method: 'POST', credentials: 'include', headers: { 'X-CSRF-Token': 'guessed' } });
        out[`${path} cors`] = `readable ${res.status}`;
      } catch {
        out[`${path} cors`] = 'blocked';
      }
    }
    try {
      await fetch(`${api}/auth/csrf`, { credentials: 'include' });
      out['/auth/csrf'] = 'readable';
    } catch {
      out['/auth/csrf'] = 'blocked';
    }
    return out;
  }, api);
}

for (const kind of ['cross-site', 'same-site'] as const) {
  test(`a page on another origin (${kind}) cannot refresh or sign out: CSRF refused server side`, async () => {
    const { page, sessionId } = await victim();
    const before = await familyState(sessionId);
    const evilOrigin = kind === 'cross-site' ? `http://127.0.0.1:${attacker.port}` : `http://localhost:${attacker.port}`;
    const evil = await context.newPage();
    await evil.goto(`${evilOrigin}/`);
    const mark = bh.served.length;

    expect(await attack(evil, bh.origin)).toEqual({
      '/auth/refresh no-cors': 'unreadable',
      '/auth/refresh cors': 'blocked',
      '/auth/logout no-cors': 'unreadable',
      '/auth/logout cors': 'blocked',
      '/auth/csrf': 'blocked',
    });
    // A plain HTML form posted to the logout route (a top-level navigation).
    await evil.evaluate((api) => {
      const form = document.createElement('form');
      form.method = 'POST';
      form.action = `${api}/auth/logout`;
      document.body.append(form);
      form.submit();
    }, bh.origin);
    await evil.waitForURL(`${bh.origin}/auth/logout`);
    expect(await evil.textContent('body')).toContain('csrf_invalid');
    await shot(evil, `form-post-${kind}`);

    const fromEvil = bh.served.slice(mark).filter((r) => r.origin === evilOrigin);
    const posts = fromEvil.filter((r) => r.method === 'POST');
    expect(posts.map((r) => `${r.path} ${r.status}`).sort()).toEqual(['/auth/logout 403', '/auth/logout 403', '/auth/refresh 403']);
    // Same-site pages get the SameSite=Strict cookie sent along: the origin check still refuses them.
    if (kind === 'same-site') expect(posts.some((r) => r.withRefreshCookie)).toBe(true);
    // Preflights got no CORS grant, so the requests carrying a guessed CSRF header were never sent.
    const preflights = fromEvil.filter((r) => r.method === 'OPTIONS');
    expect(preflights.map((r) => r.path).sort()).toEqual(['/auth/logout', '/auth/refresh']);
    for (const preflight of preflights) expect(preflight.allowOrigin).toBeUndefined();
    expect(fromEvil.every((r) => r.allowOrigin === undefined)).toBe(true);
    expect(await familyState(sessionId)).toEqual(before);

    // The victim's own tab still refreshes and works.
    const ok = await page.evaluate(() => (window as unknown as { latchkeyDemo: { client: { refresh(): Promise<boolean> } } }).latchkeyDemo.client.refresh());
    expect(ok).toBe(true);
    expect(await familyState(sessionId)).toEqual({ revoked: false, tokens: before.tokens + 1 });
  });
}

test('a first-party app on an allowed origin uses the served client with credentials (CORS)', async () => {
  const email = uniqueEmail('app');
  expect((await bh.h.http.post('/auth/register').send({ email, password: PASSWORD })).status).toBe(202);
  const appOrigin = `http://localhost:${app.port}`;
  const page = await context.newPage();
  await page.goto(`${appOrigin}/`);
  await page.waitForSelector('body[data-ready="true"]');
  const result = await page.evaluate(
    async ({ email, password }) => {
      type Client = {
        signIn(e: string, p: string): Promise<unknown>;
        me(): Promise<{ user: { email: string } }>;
        refresh(): Promise<boolean>;
        signOut(): Promise<void>;
        current: { status: string };
      };
      const client = (window as unknown as { client: Client }).client;
      await client.signIn(email, password);
      const me = await client.me();
      const refreshed = await client.refresh();
      const cookieVisible = document.cookie.includes('lk_');
      await client.signOut();
      return { email: me.user.email, refreshed, cookieVisible, after: client.current.status };
    },
    { email, password: PASSWORD },
  );
  expect(result).toEqual({ email, refreshed: true, cookieVisible: false, after: 'signed-out' });
  const fromApp = bh.served.filter((r) => r.origin === appOrigin);
  expect(fromApp.filter((r) => r.method === 'OPTIONS').length).toBeGreaterThan(0);
  expect(fromApp.every((r) => r.allowOrigin === appOrigin)).toBe(true);
  const posts = bh.served.filter((r) => r.origin === appOrigin && r.method === 'POST').map((r) => `${r.path} ${r.status}`);
  expect(posts).toEqual(['/auth/login 200', '/auth/refresh 200', '/auth/logout 204']);
});
