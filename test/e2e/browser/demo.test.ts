import type { BrowserContext } from 'playwright-core';
import { QueryTypes } from 'sequelize';
import { PASSWORD, uniqueEmail } from '../../support/harness';
import { signIn } from '../../support/browser-session';
import { screenshotFolder } from '../support/browser-harness';
import { browserSuite } from '../support/browser-suite';
import { collectErrors, openDemo, reloadMe, signInOnPage, signUpOnPage, waitSignedIn, waitSignedOut } from '../support/demo-page';

jest.setTimeout(180_000);

const suite = browserSuite();
let context: BrowserContext;
const shot = screenshotFolder('demo');

beforeEach(async () => {
  context = await suite.newContext();
});

async function revokedAt(sessionId: string): Promise<Date | null> {
  const [row] = await suite.bh.h.deps.db.query<{ revoked_at: Date | null }>('SELECT revoked_at FROM sessions WHERE id = :id', {
    type: QueryTypes.SELECT,
    replacements: { id: sessionId },
  });
  if (!row) throw new Error(`no session ${sessionId}`);
  return row.revoked_at;
}

test('the demo is served under the strict CSP with external script and style only', async () => {
  const page = await context.newPage();
  const errors = collectErrors(page);
  const res = await page.goto(`${suite.bh.origin}/demo`);
  const csp = res!.headers()['content-security-policy']!;
  expect(csp).toMatch(/script-src 'self'/);
  expect(csp).not.toMatch(/unsafe-inline|unsafe-eval/);
  await page.waitForSelector('body[data-ready="true"]');
  await waitSignedOut(page);
  expect(await page.locator('script:not([src])').count()).toBe(0);
  expect(await page.locator('style, [style]').count()).toBe(0);
  expect(await page.evaluate(() => getComputedStyle(document.querySelector('.card')!).borderRadius)).toBe('8px');
  await shot(page, '01-signed-out');
  expect(errors).toEqual([]);
});

test('sign up, sign in, /me and sessions; the refresh cookie is invisible to scripts; no token in storage', async () => {
  const email = uniqueEmail('demo');
  const page = await openDemo(context, suite.bh.origin);
  const errors = collectErrors(page);
  await signUpOnPage(page, email, PASSWORD);
  await signInOnPage(page, email, PASSWORD);
  await page.waitForSelector('#sessions tr.current');
  await shot(page, '02-signed-in');

  const cookies = await context.cookies(suite.bh.origin);
  const rt = cookies.find((c) => c.name === '__Host-lk_rt');
  expect(rt).toMatchObject({ httpOnly: true, secure: true, sameSite: 'Strict', path: '/' });
  const visible = await page.evaluate(() => document.cookie);
  expect(visible).not.toContain('lk_rt');
  expect(visible).not.toContain('lk_csrf');
  expect(visible).not.toContain(rt!.value);
  const storage = await page.evaluate(() => ({ local: localStorage.length, session: sessionStorage.length }));
  expect(storage).toEqual({ local: 0, session: 0 });
  expect(errors).toEqual([]);
});

test('the sessions list revokes another device with its button', async () => {
  const email = uniqueEmail('demo');
  const other = await signIn(suite.bh.h, { deviceName: 'Other laptop', email: await registerViaApi(email) });
  const page = await openDemo(context, suite.bh.origin);
  await signInOnPage(page, email, PASSWORD);
  await page.click('#reload-sessions');
  const row = page.locator(`#sessions tr[data-session-id="${other.sessionId}"]`);
  await row.waitFor();
  expect(await page.locator('#sessions tr').count()).toBe(2);
  await shot(page, '03-two-sessions');
  await row.locator('button.revoke').click();
  await page.waitForSelector('#message:has-text("Session revoked")');
  await row.waitFor({ state: 'detached' });
  expect(await revokedAt(other.sessionId)).not.toBeNull();
  const refused = await suite.bh.h.http.get('/me').set('Authorization', `Bearer ${other.accessToken}`);
  expect(refused.body.code).toBe('session_revoked');
  expect(await reloadMe(page)).toBe(200);
});

test('change password keeps this session, revokes the others, and the new password signs in', async () => {
  const email = uniqueEmail('demo');
  const other = await signIn(suite.bh.h, { deviceName: 'Old phone', email: await registerViaApi(email) });
  const page = await openDemo(context, suite.bh.origin);
  await signInOnPage(page, email, PASSWORD);
  const newPassword = 'a brand new long passphrase 42';
  await page.fill('#password-current', PASSWORD);
  await page.fill('#password-new', newPassword);
  await page.click('#password-form button[type=submit]');
  await page.waitForSelector('#message:has-text("Password changed")');
  await shot(page, '04-password-changed');
  expect(await reloadMe(page)).toBe(200);
  await waitSignedIn(page, email);
  expect(await revokedAt(other.sessionId)).not.toBeNull();
  const login = await suite.bh.h.http.post('/auth/login').send({ email, password: newPassword });
  expect(login.status).toBe(200);
});

test('sign out revokes the session and clears the refresh cookie; a reload stays signed out', async () => {
  const email = uniqueEmail('demo');
  await registerViaApi(email);
  const page = await openDemo(context, suite.bh.origin);
  await signInOnPage(page, email, PASSWORD);
  const sessionId = await page.evaluate(() => {
    const state = (window as unknown as { latchkeyDemo: { client: { current: { sessionId?: string } } } }).latchkeyDemo.client.current;
    return state.sessionId!;
  });
  await page.click('#signout');
  await waitSignedOut(page);
  await shot(page, '05-signed-out-again');
  expect(await revokedAt(sessionId)).not.toBeNull();
  expect((await context.cookies(suite.bh.origin)).map((c) => c.name)).not.toContain('__Host-lk_rt');
  await page.reload();
  await page.waitForSelector('body[data-ready="true"]');
  await waitSignedOut(page);
});

async function registerViaApi(email: string): Promise<string> {
  const res = await suite.bh.h.http.post('/auth/register').send({ email, password: PASSWORD, name: 'Demo User' });
  expect(res.status).toBe(202);
  return email;
}
