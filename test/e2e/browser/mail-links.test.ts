import { QueryTypes } from 'sequelize';
import { registerUser } from '../../support/browser-session';
import { PASSWORD } from '../../support/harness';
import { mailsTo, waitFor } from '../../integration/workers/worker-harness';
import { browserSuite } from '../support/browser-suite';
import { collectErrors } from '../support/demo-page';

jest.setTimeout(120_000);

// The links Latchkey mails (PUBLIC_URL/verify-email?token=…, PUBLIC_URL/reset-password?token=…)
// open pages it serves, which post the token to the API: a user who clicks them is done.
const suite = browserSuite();

async function mailedLink(email: string, kind: 'email_verification' | 'password_reset'): Promise<string> {
  const mail = await waitFor(async () => (await mailsTo(suite.bh.h, email)).filter((m) => m.kind === kind).pop(), `${kind} mail`);
  expect(mail.link!.startsWith(`${suite.bh.origin}/`)).toBe(true);
  return mail.link!;
}

async function emailVerified(email: string): Promise<boolean> {
  const [row] = await suite.bh.h.deps.db.query<{ verified: boolean }>('SELECT email_verified_at IS NOT NULL AS verified FROM users WHERE email = :email', {
    type: QueryTypes.SELECT,
    replacements: { email },
  });
  return row!.verified;
}

test('the verification link verifies the address, and takes the token out of the address bar', async () => {
  const email = await registerUser(suite.bh.h);
  const link = await mailedLink(email, 'email_verification');
  const page = await (await suite.newContext()).newPage();
  const errors = collectErrors(page);
  await page.goto(link);
  await page.waitForSelector('#message[data-kind="ok"]');
  expect(await page.textContent('#message')).toMatch(/verified/);
  expect(await page.title()).toBe('Verify your email address');
  expect(page.url()).toBe(`${suite.bh.origin}/verify-email`);
  expect(await emailVerified(email)).toBe(true);
  expect(errors).toEqual([]);
  // Used once: the same link again says so.
  await page.goto(link);
  await page.waitForSelector('#message[data-kind="error"]');
});

test('the reset link asks for a new password, which then signs in; the old one does not, nor the link again', async () => {
  const email = await registerUser(suite.bh.h);
  expect((await suite.bh.h.http.post('/auth/password/forgot').send({ email })).status).toBe(202);
  const link = await mailedLink(email, 'password_reset');
  const page = await (await suite.newContext()).newPage();
  const errors = collectErrors(page);
  await page.goto(link);
  expect(page.url()).toBe(`${suite.bh.origin}/reset-password`);
  expect(await page.textContent('h1')).toBe('Choose a new password');
  // A password the policy refuses says so, and the link stays usable.
  await page.fill('#new-password', 'aaaaaaaaaaaa');
  await page.click('#reset-form button[type="submit"]');
  await page.waitForSelector('#message[data-kind="error"]');
  expect(await page.textContent('#message')).toMatch(/Choose another password/);
  errors.length = 0; // the refused POST's 400 is logged by the browser
  const newPassword = 'a brand new passphrase 42';
  await page.fill('#new-password', newPassword);
  await page.click('#reset-form button[type="submit"]');
  await page.waitForSelector('#message[data-kind="ok"]');
  expect(await page.isHidden('#reset-form')).toBe(true);
  expect((await suite.bh.h.http.post('/auth/login').send({ email, password: newPassword })).status).toBe(200);
  expect((await suite.bh.h.http.post('/auth/login').send({ email, password: PASSWORD })).status).toBe(401);
  expect(errors).toEqual([]);

  await page.goto(link);
  await page.fill('#new-password', 'yet another passphrase 43');
  await page.click('#reset-form button[type="submit"]');
  await page.waitForSelector('#message[data-kind="error"]');
});
