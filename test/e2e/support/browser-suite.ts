import type { Browser, BrowserContext } from 'playwright-core';
import { launchChromium } from './chromium';
import { startBrowserHarness, type BrowserHarness } from './browser-harness';

/** What a browser test file works with; valid inside its tests. */
export interface BrowserSuite {
  readonly bh: BrowserHarness;
  readonly browser: Browser;
  /** A fresh browser profile (cookies, storage), closed after the test. */
  newContext(): Promise<BrowserContext>;
}

/**
 * Registers the hooks of a browser test file: one Chromium and one browser harness for the file,
 * and every context a test opens closed after it.
 */
export function browserSuite(): BrowserSuite {
  let bh: BrowserHarness | undefined;
  let browser: Browser | undefined;
  const contexts: BrowserContext[] = [];
  beforeAll(async () => {
    browser = await launchChromium();
    bh = await startBrowserHarness();
  });
  afterAll(async () => {
    await browser?.close();
    await bh?.close();
  });
  afterEach(async () => {
    await Promise.all(contexts.splice(0).map((c) => c.close()));
  });
  return {
    get bh() {
      return bh!;
    },
    get browser() {
      return browser!;
    },
    async newContext() {
      const context = await browser!.newContext();
      contexts.push(context);
      return context;
    },
  };
}
