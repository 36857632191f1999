import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';

/** Debian's Chromium; never a downloaded browser. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Installs Debian's Chromium with apt when it is missing (needs root, as CI has). */
export function ensureChromium(): void {
  execFileSync('bash', [path.join(__dirname, '..', 'ensure-chromium.sh')], {
    stdio: 'inherit',
    timeout: 600_000,
    env: { ...process.env, CHROMIUM_PATH },
  });
}

/**
 * A headless Chromium. Playwright gives every launch a fresh temporary --user-data-dir (it refuses
 * one in `args`), and every `newContext()` is a separate cookie jar and storage partition.
 */
export async function launchChromium(): Promise<Browser> {
  ensureChromium();
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    timeout: 120_000,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-quic',
      '--no-first-run',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
