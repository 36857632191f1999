import { readFile } from 'node:fs/promises';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { QueryTypes } from 'sequelize';
import { PASSWORD } from '../support/harness';
import type { BrowserSession } from '../support/browser-session';
import { createOrganization, memberSignedIn, serviceCredential } from '../integration/organizations/fixtures';
import { generateAuditRecords, pools, sampleRecord } from '../integration/audit/audit-fixtures';
import { launchChromium } from './support/chromium';
import { screenshotFolder, startBrowserHarness, type BrowserHarness } from './support/browser-harness';

jest.setTimeout(120_000);

const RECORDS = 120;
let bh: BrowserHarness;
let browser: Browser;
let context: BrowserContext;
let auditor: BrowserSession;
let orgId: string;
let p: ReturnType<typeof pools>;
const shot = screenshotFolder('console');

beforeAll(async () => {
  browser = await launchChromium();
  bh = await startBrowserHarness();
  const admin = await serviceCredential(['organizations:write', 'organizations:read']);
  orgId = await createOrganization(bh.h, admin, 'Console Org');
  const otherOrg = await createOrganization(bh.h, admin, 'Other Org');
  auditor = await memberSignedIn(bh.h, admin, orgId, 'auditor');
  p = pools(1, 4, 6);
  p.orgs = [orgId];
  const t0 = Date.now() - 3_600_000;
  await generateAuditRecords(bh.h.deps.db, RECORDS, (i) => sampleRecord(i, p, new Date(t0 + i * 1_000)));
  await generateAuditRecords(bh.h.deps.db, 30, (i) => sampleRecord(i, { ...p, orgs: [otherOrg] }, new Date(t0 + i * 1_000)));
  context = await browser.newContext({ acceptDownloads: true });
});

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await bh?.close();
});

const rowIds = (page: Page) =>
  page.locator('#results tbody button').evaluateAll((buttons) => buttons.map((b) => /record (\d+)/.exec(b.getAttribute('aria-label') ?? '')![1]!));

test('an auditor signs in, filters, pages, opens a record, exports, checks the chain and a user’s sessions', async () => {
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  const res = await page.goto(`${bh.origin}/console`);
  expect(res!.headers()['content-security-policy']).toMatch(/script-src 'self'/);
  expect(await page.locator('script:not([src]), style, [style]').count()).toBe(0);
  await shot(page, '01-sign-in');

  // Sign in with the keyboard only: labels lead to the fields, Enter submits.
  await page.getByLabel('Email').fill(auditor.email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByLabel('Password').press('Enter');
  await page.waitForSelector('#workspace:not([hidden])');
  await page.waitForFunction(() => document.querySelectorAll('#results tbody tr').length > 0);
  expect(await page.locator('#whoami').textContent()).toContain('Console Org');
  expect(await page.getByLabel('Organization id').inputValue()).toBe(orgId);
  expect(await page.locator('#results th[scope="col"]').count()).toBe(7);
  await shot(page, '02-signed-in');

  // Page through everything: 50 a page, newest first, no overlap.
  const pages: string[][] = [await rowIds(page)];
  while (await page.locator('#older').isEnabled()) {
    const before = pages[pages.length - 1]![0];
    await page.locator('#older').click();
    await page.waitForFunction((b) => !document.querySelector(`#results tbody button[aria-label^="Open record ${b} "]`), before);
    pages.push(await rowIds(page));
  }
  // The generated records, plus any record of this organization's own sign-ins that a worker of
  // another test file chained meanwhile (its relay sweeps every pending event of the shared
  // database): everything at or below the first page's top, 50 a page.
  const [{ n }] = (await bh.h.deps.db.query('SELECT count(*)::int AS n FROM audit_logs WHERE organization_id = :orgId AND id <= :top', {
    type: QueryTypes.SELECT,
    replacements: { orgId, top: pages[0]![0] },
  })) as [{ n: number }];
  expect(n).toBeGreaterThanOrEqual(RECORDS);
  expect(pages.map((x) => x.length)).toEqual(Array.from({ length: Math.ceil(n / 50) }, (_, i) => Math.min(50, n - 50 * i)));
  const all = pages.flat();
  expect(new Set(all).size).toBe(n);
  expect(all.map(Number)).toEqual([...all.map(Number)].sort((a, b) => b - a));
  await shot(page, '03-last-page');
  await page.locator('#newer').click();
  await page.waitForFunction(() => document.querySelector('#page-label')!.textContent === 'Page 2');
  expect(await rowIds(page)).toEqual(pages[1]);

  // Filter by type prefix and user.
  await page.getByLabel(/^Type/).fill('refresh_token.*');
  await page.getByLabel('User id').first().fill(p.users[2]!);
  await page.getByRole('button', { name: 'Search' }).click();
  await page.waitForFunction(() => /Page 1:/.test(document.querySelector('#results-caption')!.textContent ?? ''));
  const expected = Array.from({ length: RECORDS }, (_, i) => sampleRecord(i, p, new Date())).filter(
    (r) => r.type.startsWith('refresh_token.') && r.userId === p.users[2],
  ).length;
  expect(await page.locator('#results tbody tr').count()).toBe(expected);
  expect(await page.locator('#results tbody td:nth-child(2)').allTextContents()).toEqual(Array(expected).fill('refresh_token.reused'));
  await shot(page, '04-filtered');

  // Open a record with the keyboard.
  await page.locator('#results tbody button').first().focus();
  await page.keyboard.press('Enter');
  await page.waitForSelector('#record:not([hidden])');
  expect(await page.locator('#record-title').textContent()).toMatch(/^Record \d+$/);
  expect(await page.locator('#record-details').textContent()).toContain('"source": "generator"');
  await shot(page, '05-record');
  await page.keyboard.press('Escape');
  await page.waitForSelector('#record', { state: 'hidden' });

  // Export what the filters select; the export is itself recorded.
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export NDJSON' }).click()]);
  const lines = (await readFile((await download.path())!, 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
  expect(lines).toHaveLength(expected);
  expect(lines.every((r) => r.organizationId === orgId && r.type === 'refresh_token.reused')).toBe(true);
  const exported = await bh.h.deps.db.query<{ actor_id: string }>(
    "SELECT actor_id FROM events WHERE type = 'audit.exported' AND data->>'organizationId' = :orgId",
    { type: QueryTypes.SELECT, replacements: { orgId } },
  );
  expect(exported.map((e) => e.actor_id)).toEqual([auditor.userId]);

  // Chain status.
  await page.getByRole('button', { name: 'Verify the hash chain' }).click();
  await page.waitForFunction(() => /Chain (intact|BROKEN)/.test(document.querySelector('#chain-status')!.textContent ?? ''));
  expect(await page.locator('#chain-status').textContent()).toMatch(/^Chain intact: \d+ records checked\.$/);

  // A user's sessions (the auditor's own, in this organization).
  await page.locator('#s-user').fill(auditor.userId);
  await page.getByRole('button', { name: 'Show sessions' }).click();
  await page.waitForFunction(() => document.querySelectorAll('#sessions tbody tr').length > 0);
  expect(await page.locator('#sessions tbody').textContent()).toContain(auditor.sessionId);
  await shot(page, '06-chain-and-sessions');

  // Clearing the filters keeps the organization the auditor is confined to.
  await page.getByRole('button', { name: 'Clear' }).click();
  expect(await page.getByLabel('Organization id').inputValue()).toBe(orgId);
  expect(errors).toEqual([]);
});
