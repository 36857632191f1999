import { startHarness, PASSWORD, uniqueEmail, type Harness } from '../../support/harness';
import { registerUser } from '../../support/browser-session';
import { LIMITS } from '../../../shared/src/security/limits';
import { scanKeys } from '../../../shared/src/redis/nodes';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ RATE_LIMIT_SCALE: '1' });
});
afterAll(() => h.close());

const login = (app: Harness, email: string, password: string, ip: string) =>
  app.http.post('/auth/login').set('X-Forwarded-For', ip).send({ email, password });

const ACCOUNT_LIMIT = LIMITS.loginFailuresPerAccount.limit;

describe('sign-in limits', () => {
  it('caps a burst against one account from rotating addresses, then lets the window expire', async () => {
    const email = await registerUser(h);
    const codes: string[] = [];
    for (let i = 0; i < ACCOUNT_LIMIT + 2; i++) {
      // Reset the progressive delay's effect on the test's duration: it only slows, never changes codes.
      codes.push((await login(h, email, `wrong password number ${i}`, `10.1.${i}.1`)).body.code);
    }
    expect(codes.slice(0, ACCOUNT_LIMIT)).toEqual(Array(ACCOUNT_LIMIT).fill('invalid_credentials'));
    expect(codes.slice(ACCOUNT_LIMIT)).toEqual(['rate_limited', 'rate_limited']);
    const locked = await login(h, email, PASSWORD, '10.9.9.9');
    expect(locked.status).toBe(429);
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(locked.headers['retry-after'])).toBeLessThanOrEqual(LIMITS.loginFailuresPerAccount.windowSeconds);
    // Never permanent: every counter has a time to live; when it runs out the account opens again.
    const keys = await scanKeys(h.deps.redis, `${h.prefix}:{rl:${LIMITS.loginFailuresPerAccount.name}:*`);
    expect(keys).toHaveLength(1);
    const ttl = await h.deps.redis.ttl(keys[0]!);
    expect(ttl).toBeGreaterThan(0);
    await h.deps.redis.pexpire(keys[0]!, 1);
    await new Promise((r) => setTimeout(r, 20));
    expect((await login(h, email, PASSWORD, '10.9.9.9')).status).toBe(200);
  }, 60_000);

  it('audits the lockout once', async () => {
    const email = await registerUser(h);
    for (let i = 0; i < ACCOUNT_LIMIT + 1; i++) await login(h, email, `wrong password number ${i}`, `10.2.${i}.1`);
    const [rows] = await h.deps.db.query(
      `SELECT e.data->>'reason' AS reason FROM events e JOIN users u ON u.id = (e.data->>'userId')::uuid
       WHERE e.type = 'auth.login_failed' AND u.email = :email`,
      { replacements: { email } },
    );
    const reasons = (rows as Array<{ reason: string }>).map((r) => r.reason);
    expect(reasons.filter((r) => r === 'account_locked')).toHaveLength(1);
  }, 60_000);

  it('caps one address trying many accounts', async () => {
    const ip = '10.3.3.3';
    const codes: string[] = [];
    for (let i = 0; i < LIMITS.loginFailuresPerIp.limit + 1; i++) codes.push((await login(h, uniqueEmail('spray'), PASSWORD, ip)).body.code);
    expect(codes.slice(0, LIMITS.loginFailuresPerIp.limit).every((c) => c === 'invalid_credentials')).toBe(true);
    expect(codes[LIMITS.loginFailuresPerIp.limit]).toBe('rate_limited');
    expect((await login(h, uniqueEmail('spray'), PASSWORD, '10.3.3.4')).body.code).toBe('invalid_credentials');
  }, 60_000);

  it('shares the counters between two API processes', async () => {
    const other = await startHarness({ RATE_LIMIT_SCALE: '1', REDIS_KEY_PREFIX: h.prefix });
    try {
      const email = await registerUser(h);
      for (let i = 0; i < ACCOUNT_LIMIT; i++) await login(i % 2 ? h : other, email, `wrong password number ${i}`, `10.4.${i}.1`);
      expect((await login(other, email, PASSWORD, '10.4.99.1')).body.code).toBe('rate_limited');
      expect((await login(h, email, PASSWORD, '10.4.99.2')).body.code).toBe('rate_limited');
    } finally {
      await other.deps.close();
    }
  }, 60_000);

  it('still limits when Redis is unreachable (per-process memory limiter)', async () => {
    const dark = await startHarness({ RATE_LIMIT_SCALE: '1' }, { redisUrl: 'redis://127.0.0.1:1' });
    try {
      const email = await registerUser(h);
      const codes: string[] = [];
      for (let i = 0; i < ACCOUNT_LIMIT + 1; i++) codes.push((await login(dark, email, `wrong password number ${i}`, `10.5.${i}.1`)).body.code);
      expect(codes[ACCOUNT_LIMIT]).toBe('rate_limited');
    } finally {
      await dark.close();
    }
  }, 60_000);

  it('limits registrations per address', async () => {
    const ip = '10.6.6.6';
    let last = 0;
    for (let i = 0; i < LIMITS.registerPerIp.limit + 1; i++) {
      last = (await h.http.post('/auth/register').set('X-Forwarded-For', ip).send({ email: uniqueEmail('reg'), password: PASSWORD })).status;
    }
    expect(last).toBe(429);
  }, 60_000);
});

describe('forgot-password limits', () => {
  const forgot = (email: string, ip: string) => h.http.post('/auth/password/forgot').set('X-Forwarded-For', ip).send({ email });
  const mailsTo = async (email: string) => {
    const { readFile } = await import('node:fs/promises');
    const text = await readFile(h.mailFile, 'utf8').catch(() => '');
    return text.split('\n').filter((l) => l.includes(`"to":"${email}"`) && l.includes('"kind":"password_reset"')).length;
  };

  it('mails an address at most the per-account limit, answering 202 every time', async () => {
    const email = await registerUser(h);
    for (let i = 0; i < LIMITS.forgotPerAccount.limit + 3; i++) expect((await forgot(email, `10.7.${i}.1`)).status).toBe(202);
    await new Promise((r) => setTimeout(r, 300));
    expect(await mailsTo(email)).toBe(LIMITS.forgotPerAccount.limit);
  });

  it('limits one address asking for many accounts', async () => {
    let last = 0;
    for (let i = 0; i < LIMITS.forgotPerIp.limit + 1; i++) last = (await forgot(uniqueEmail('fp'), '10.8.8.8')).status;
    expect(last).toBe(429);
  });
});
