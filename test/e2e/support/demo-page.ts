import type { BrowserContext, Page, Response } from 'playwright-core';

/** Console errors and uncaught exceptions of a page (CSP violations show up here). */
export function collectErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    // A refused refresh on first load (no cookie yet) is logged by Chromium as a failed resource.
    if (msg.type() === 'error' && !/status of 401|status of 403/.test(msg.text())) errors.push(msg.text());
  });
  return errors;
}

/** Opens the demo and waits until it has tried to restore a session. */
export async function openDemo(context: BrowserContext, origin: string, before?: (page: Page) => Promise<void>): Promise<Page> {
  const page = await context.newPage();
  if (before) await before(page);
  await page.goto(`${origin}/demo`);
  await page.waitForSelector('body[data-ready="true"]');
  return page;
}

export async function signUpOnPage(page: Page, email: string, password: string, name = 'Demo User'): Promise<void> {
  await page.fill('#signup-name', name);
  await page.fill('#signup-email', email);
  await page.fill('#signup-password', password);
  await page.click('#signup-form button[type=submit]');
  await page.waitForSelector('#message:has-text("Account created")');
}

export async function signInOnPage(page: Page, email: string, password: string): Promise<void> {
  await page.fill('#signin-email', email);
  await page.fill('#signin-password', password);
  await page.click('#signin-form button[type=submit]');
  await waitSignedIn(page, email);
}

/** Signed in, with /me rendered for that email. */
export async function waitSignedIn(page: Page, email: string): Promise<void> {
  await page.waitForSelector('#status[data-state="signed-in"]');
  await page.waitForSelector('#signin-form', { state: 'hidden' });
  await page.waitForFunction((e) => document.getElementById('me')?.textContent?.includes(e) ?? false, email);
}

export async function waitSignedOut(page: Page): Promise<void> {
  await page.waitForSelector('#status[data-state="signed-out"]');
  await page.waitForSelector('#signin-form', { state: 'visible' });
}

/**
 * Clicks "Reload /me" and resolves with the status of the API's final answer: a refusal as
 * expired (token_expired, permissions_stale) is followed by a refresh and one retry, whose status
 * is the one returned.
 */
export function reloadMe(page: Page): Promise<number> {
  return new Promise((resolve, reject) => {
    const onResponse = async (r: Response): Promise<void> => {
      if (new URL(r.url()).pathname !== '/me' || r.request().method() !== 'GET') return;
      const status = r.status();
      if (status === 401 && /token_expired|permissions_stale/.test(await r.text().catch(() => ''))) return;
      page.off('response', onResponse);
      resolve(status);
    };
    page.on('response', onResponse);
    page.click('#reload-me').catch(reject);
  });
}
