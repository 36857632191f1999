import { SignJWT, decodeJwt } from 'jose';
import type { Page } from 'playwright-core';
import { QueryTypes } from 'sequelize';
import { PASSWORD, uniqueEmail } from '../../support/harness';
import { screenshotFolder } from '../support/browser-harness';
import { browserSuite } from '../support/browser-suite';
import { openDemo, reloadMe, signInOnPage, waitSignedIn, waitSignedOut } from '../support/demo-page';

jest.setTimeout(180_000);

const suite = browserSuite();
const newContext = () => suite.newContext();
const shot = screenshotFolder('refresh');

async function newUser(): Promise<string> {
  const email = uniqueEmail('tabs');
  const res = await suite.bh.h.http.post('/auth/register').send({ email, password: PASSWORD });
  expect(res.status).toBe(202);
  return email;
}

/** The same token, re-signed with our key so that it expired a minute ago: the server says token_expired. */
async function expiredCopy(token: string): Promise<string> {
  const { iat: _iat, exp: _exp, ...claims } = decodeJwt(token);
  const key = suite.bh.h.deps.keyRing.signingKey();
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT(claims).setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'at+jwt' }).setIssuedAt(now - 120).setExpirationTime(now - 60).sign(key.privateKey);
}

async function sessionState(sessionId: string): Promise<{ revoked_at: Date | null; tokens: number }> {
  const [row] = await suite.bh.h.deps.db.query<{ revoked_at: Date | null; tokens: number }>(
    'SELECT s.revoked_at, (SELECT count(*)::int FROM refresh_tokens rt WHERE rt.session_id = s.id) AS tokens FROM sessions s WHERE s.id = :id',
    { type: QueryTypes.SELECT, replacements: { id: sessionId } },
  );
  return row!;
}

function sessionIdOf(page: Page): Promise<string> {
  return page.evaluate(() => (window as unknown as { latchkeyDemo: { client: { current: { sessionId: string } } } }).latchkeyDemo.client.current.sessionId);
}

/** Server-side count of answered POST /auth/refresh since `mark`. */
function refreshesSince(mark: number): Array<{ status: number }> {
  return suite.bh.served.slice(mark).filter((r) => r.method === 'POST' && r.path === '/auth/refresh');
}

test('the page keeps working across several expiries without a visible sign-in', async () => {
  const email = await newUser();
  const context = await newContext();
  // The page's clock is Playwright's fake clock; the server keeps real time.
  const page = await openDemo(context, suite.bh.origin, (p) => p.clock.install());
  await signInOnPage(page, email, PASSWORD);
  const sessionId = await sessionIdOf(page);
  const tokensSeen = new Set<string>();
  page.on('request', (r) => {
    const auth = r.headers().authorization;
    if (auth) tokensSeen.add(auth);
  });
  let navigated = false;
  page.on('framenavigated', () => (navigated = true));

  // Proactive: the client refreshes `lead` (30 s, half of the 60 s lifetime) before expiry.
  for (let round = 0; round < 3; round++) {
    const mark = suite.bh.served.length;
    const refreshed = page.waitForResponse((r) => new URL(r.url()).pathname === '/auth/refresh');
    await page.clock.fastForward(40_000);
    expect((await refreshed).status()).toBe(200);
    await page.clock.fastForward(25_000); // the previous token is now 65 s old: past its expiry
    expect(await reloadMe(page)).toBe(200);
    expect(await page.isVisible('#signin-form')).toBe(false);
    expect(refreshesSince(mark).map((r) => r.status)).toEqual([200]);
  }

  // Reactive: the server itself refuses the token as expired; the client refreshes and retries once.
  let expire = true;
  await page.route('**/me', async (route) => {
    const auth = route.request().headers().authorization;
    if (!expire || !auth) return route.continue();
    expire = false;
    await route.continue({ headers: { ...route.request().headers(), authorization: `Bearer ${await expiredCopy(auth.slice(7))}` } });
  });
  for (let round = 0; round < 3; round++) {
    expire = true;
    const mark = suite.bh.served.length;
    expect(await reloadMe(page)).toBe(200);
    const served = suite.bh.served.slice(mark).filter((r) => r.path === '/me' || r.path === '/auth/refresh');
    expect(served.map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual(['GET /me 401', 'POST /auth/refresh 200', 'GET /me 200']);
  }
  await waitSignedIn(page, email);
  await shot(page, '01-after-six-expiries');
  expect(navigated).toBe(false); // the page was never reloaded or sent to a sign-in page
  expect(tokensSeen.size).toBeGreaterThanOrEqual(4);
  expect(await sessionState(sessionId)).toMatchObject({ revoked_at: null });
});

test('two tabs refreshing at the same moment stay signed in; one refresh serves both; the family survives', async () => {
  const email = await newUser();
  const context = await newContext();
  const tab1 = await openDemo(context, suite.bh.origin);
  await signInOnPage(tab1, email, PASSWORD);
  const tab2 = await openDemo(context, suite.bh.origin);
  await waitSignedIn(tab2, email);
  const sessionId = await sessionIdOf(tab1);
  expect(await sessionIdOf(tab2)).toBe(sessionId);

  for (let round = 0; round < 3; round++) {
    // Hold the tabs' refresh lock so both requests are queued at the same moment, then let go.
    await tab1.evaluate(() => {
      const w = window as unknown as { release?: () => void; held?: Promise<void> };
      w.held = new Promise<void>((acquired) => {
        void navigator.locks.request('latchkey-demo:refresh', () => {
          acquired();
          return new Promise<void>((release) => (w.release = release));
        });
      });
      return w.held;
    });
    const mark = suite.bh.served.length;
    const both = Promise.all(
      [tab1, tab2].map((tab) => tab.evaluate(() => (window as unknown as { latchkeyDemo: { client: { refresh(): Promise<boolean> } } }).latchkeyDemo.client.refresh())),
    );
    await tab1.evaluate(() => (window as unknown as { release: () => void }).release());
    expect(await both).toEqual([true, true]);
    expect(refreshesSince(mark).map((r) => r.status)).toEqual([200]);
    expect(await reloadMe(tab1)).toBe(200);
    expect(await reloadMe(tab2)).toBe(200);
  }

  // Without the lock held: a free race of both tabs (and the server's grace window) still signs nobody out.
  const mark = suite.bh.served.length;
  const raced = await Promise.all(
    [tab1, tab2].map((tab) => tab.evaluate(() => (window as unknown as { latchkeyDemo: { client: { refresh(): Promise<boolean> } } }).latchkeyDemo.client.refresh())),
  );
  expect(raced).toEqual([true, true]);
  expect(refreshesSince(mark).every((r) => r.status === 200)).toBe(true);
  expect(await reloadMe(tab1)).toBe(200);
  expect(await reloadMe(tab2)).toBe(200);
  expect((await sessionState(sessionId)).revoked_at).toBeNull();
  await shot(tab2, '02-second-tab-signed-in');
});

test('signing out in one tab signs the other tabs out at once', async () => {
  const email = await newUser();
  const context = await newContext();
  const tab1 = await openDemo(context, suite.bh.origin);
  await signInOnPage(tab1, email, PASSWORD);
  const tab2 = await openDemo(context, suite.bh.origin);
  await waitSignedIn(tab2, email);
  const sessionId = await sessionIdOf(tab1);
  const mark = suite.bh.served.length;
  await tab1.click('#signout');
  await waitSignedOut(tab1);
  await waitSignedOut(tab2); // no action in tab 2: the BroadcastChannel told it
  expect(suite.bh.served.slice(mark).filter((r) => r.path === '/me')).toEqual([]);
  expect((await sessionState(sessionId)).revoked_at).not.toBeNull();
  await shot(tab2, '03-other-tab-signed-out');
});

test('sign out everywhere in one browser context signs out another context', async () => {
  const email = await newUser();
  const [a, b] = await Promise.all([newContext(), newContext()]);
  const pageA = await openDemo(a, suite.bh.origin);
  await signInOnPage(pageA, email, PASSWORD);
  const pageB = await openDemo(b, suite.bh.origin);
  await signInOnPage(pageB, email, PASSWORD);
  const sessionB = await sessionIdOf(pageB);
  expect(sessionB).not.toBe(await sessionIdOf(pageA));

  await pageA.click('#signout-all');
  await waitSignedOut(pageA);
  expect(await reloadMe(pageB)).toBe(401);
  await waitSignedOut(pageB);
  await shot(pageB, '04-other-context-signed-out');
  expect((await sessionState(sessionB)).revoked_at).not.toBeNull();
  // Its refresh cookie is dead too: a reload does not sign it back in.
  const mark = suite.bh.served.length;
  await pageB.reload();
  await pageB.waitForSelector('body[data-ready="true"]');
  await waitSignedOut(pageB);
  expect(refreshesSince(mark).map((r) => r.status)).toEqual([401]);
});
