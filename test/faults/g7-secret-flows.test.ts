import { readFileSync } from 'node:fs';
import { generate } from 'otplib';
import { recordSecret } from './support/evidence';
import { bearer, call, Jar, login, me, refreshWith, REFRESH_COOKIE } from './support/http';
import { serviceCredential, sleep, until } from './support/fixtures';
import { FaultRig, type Api } from './support/rig';

/**
 * G7, part one: every kind of secret goes through real API and worker processes (LOG_LEVEL=debug),
 * on happy paths and on error paths that are tempted to echo them: passwords (register, login,
 * wrong ones, change, reset), access and refresh tokens, a reset token, a service credential,
 * an MFA secret, its recovery codes and a challenge id. `zz-log-scan.test.ts` then looks for them
 * in every log line, job payload, audit record, outbox row and error body of the whole fault run.
 */
let rig: FaultRig;
let api: Api;

beforeAll(async () => {
  rig = await FaultRig.start('g7');
  // debug: the most talkative level, so the scan covers every line the code can print.
  [api] = await Promise.all([rig.api({ LOG_LEVEL: 'debug' }), rig.worker({ LOG_LEVEL: 'debug' })]);
});
afterAll(async () => {
  await rig?.close();
});

const PASSWORDS = ['g7 first password Zq9!', 'g7 second password Lk4#', 'g7 third password Mw2$', 'g7 wrong password Xx1%'];

it('G7: secrets of every kind flow through the processes (scanned at the end of the run)', async () => {
  const email = `g7-${Date.now()}@faults.test`;
  const [first, second, third, wrongOne] = PASSWORDS as [string, string, string, string];
  expect((await call(api.url, 'POST', '/auth/register', { body: { email, password: first, name: 'G7' } })).status).toBe(202);
  expect((await call(api.url, 'POST', '/auth/register', { body: { email, password: wrongOne } })).status).toBe(202);
  expect((await call(api.url, 'POST', '/auth/login', { body: { email, password: wrongOne } })).status).toBe(401);
  expect((await call(api.url, 'POST', '/auth/login', { body: { email, password: 12345 } })).status).toBe(400);
  const s = await login(api.url, email, first);
  recordSecret('csrf_token', s.csrf);
  const refreshed = await refreshWith(api.url, s);
  expect(refreshed.status).toBe(200);
  // The used token again after rotation, a garbage cookie and a bad CSRF header: error paths with secrets in the request.
  expect((await refreshWith(api.url, s, `${REFRESH_COOKIE}=${'A'.repeat(43)}; ${[...s.jar.cookies].filter(([k]) => k !== REFRESH_COOKIE).map(([k, v]) => `${k}=${v}`).join('; ')}`)).status).toBe(401);
  expect((await call(api.url, 'POST', '/auth/refresh', { headers: { cookie: s.jar.header(), 'x-csrf-token': 'nope' } })).status).toBe(403);
  const token = refreshed.body.accessToken as string;

  // MFA: enrolment (secret), confirmation (recovery codes), sign-in through a challenge.
  const enroll = await call(api.url, 'POST', '/auth/mfa/totp/enroll', { headers: bearer(token), body: { currentPassword: first } });
  expect(enroll.status).toBe(200);
  recordSecret('mfa_secret', enroll.body.secret);
  const confirm = await call(api.url, 'POST', '/auth/mfa/totp/confirm', { headers: bearer(token), body: { code: await generate({ secret: enroll.body.secret }) } });
  expect(confirm.status).toBe(200);
  for (const c of confirm.body.recoveryCodes as string[]) recordSecret('mfa_secret', c);
  const step1 = await call(api.url, 'POST', '/auth/login', { body: { email, password: first } });
  expect(step1.body.mfaRequired).toBe(true);
  recordSecret('mfa_secret', step1.body.challengeId);
  expect((await call(api.url, 'POST', '/auth/mfa/verify', { body: { challengeId: step1.body.challengeId, code: '000000' } })).status).toBe(401);
  const recovery = (confirm.body.recoveryCodes as string[])[0]!;
  const viaMfa = await call(api.url, 'POST', '/auth/mfa/verify', { body: { challengeId: step1.body.challengeId, code: recovery } });
  expect(viaMfa.status).toBe(200);

  // A service credential: events naming the user, introspection of a token (a token in a body).
  const credential = await serviceCredential(rig.db, ['events:write', 'introspect']);
  const svc = { authorization: `Bearer ${credential}` };
  expect((await call(api.url, 'POST', '/v1/introspect', { headers: svc, body: { token: viaMfa.body.accessToken } })).body.active).toBe(true);
  expect((await call(api.url, 'POST', '/v1/introspect', { headers: svc, body: { token: `${viaMfa.body.accessToken}x` } })).body.active).toBe(false);
  expect((await call(api.url, 'POST', '/v1/introspect', { headers: { authorization: `Bearer ${credential}x` }, body: { token: token } })).status).toBe(401);
  expect((await call(api.url, 'POST', '/v1/events', { headers: svc, body: { type: 'user.logged_out_all', data: { userId: s.userId, password: first } } })).status).toBe(400);
  const posted = await call(api.url, 'POST', '/v1/events', { headers: svc, body: { type: 'session.revoked', data: { sessionId: s.sessionId, reason: 'g7' } } });
  expect(posted.status).toBe(202);

  // Password change, then forgot/reset with the mailed token.
  const change = await call(api.url, 'POST', '/auth/password/change', { headers: bearer(viaMfa.body.accessToken), body: { currentPassword: first, newPassword: second } });
  expect(change.status).toBe(200);
  expect((await call(api.url, 'POST', '/auth/password/change', { headers: bearer(change.body.accessToken), body: { currentPassword: wrongOne, newPassword: third } })).status).toBe(403);
  expect((await call(api.url, 'POST', '/auth/password/forgot', { body: { email } })).status).toBe(202);
  const mailFile = rig.env().MAIL_OUTBOX_FILE!;
  const link = await until(async () => {
    const lines = readFileSync(mailFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
    return lines.reverse().find((m) => m.to === email && /reset/.test(m.kind) && /token=/.test(m.link ?? ''))?.link as string | undefined;
  }, 'reset mail', 20_000);
  const resetToken = new URL(link).searchParams.get('token')!;
  recordSecret('reset_token', resetToken);
  expect((await call(api.url, 'POST', '/auth/password/reset', { body: { token: `${resetToken.slice(0, -2)}zz`, newPassword: third } })).status).toBeGreaterThanOrEqual(400);
  expect((await call(api.url, 'POST', '/auth/password/reset', { body: { token: resetToken, newPassword: third } })).status).toBe(204);
  expect((await call(api.url, 'POST', '/auth/password/reset', { body: { token: resetToken, newPassword: first } })).status).toBeGreaterThanOrEqual(400);
  const last = await call(api.url, 'POST', '/auth/login', { body: { email, password: third } });
  expect(last.body.mfaRequired).toBe(true);
  expect((await me(api.url, token)).status).toBe(401);

  // Let the worker process the events the flow produced (their job payloads stay in Redis for the scan).
  await until(
    async () => Number((await rig.db.query("SELECT count(*) AS n FROM events WHERE status = 'pending'")).rows[0].n) === 0,
    'events processed',
    30_000,
  );
  await sleep(200);
  const jar = new Jar();
  jar.store(refreshed.setCookies);
  expect(jar.cookies.get(REFRESH_COOKIE)).toBeDefined();
});
