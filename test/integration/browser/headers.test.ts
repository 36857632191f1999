import { startHarness, PASSWORD, type Harness } from '../../support/harness';
import { csrfFor, refresh, signIn } from '../../support/browser-session';

const APP = 'https://app.example.test';
const OTHER = 'https://evil.example.test';
let h: Harness;

beforeAll(async () => {
  h = await startHarness({ PUBLIC_URL: 'https://auth.example.test', ALLOWED_ORIGINS: `https://auth.example.test,${APP}` });
});
afterAll(async () => h.close());

describe('CORS', () => {
  test('an allowed origin gets credentials, exposed headers and a preflight grant', async () => {
    const pre = await h.http
      .options('/auth/refresh')
      .set('Origin', APP)
      .set('Access-Control-Request-Method', 'POST')
      .set('Access-Control-Request-Headers', 'x-csrf-token');
    expect(pre.status).toBe(204);
    expect(pre.headers['access-control-allow-origin']).toBe(APP);
    expect(pre.headers['access-control-allow-credentials']).toBe('true');
    expect(pre.headers['access-control-allow-headers']).toMatch(/X-CSRF-Token/);
    expect(pre.headers['access-control-allow-headers']).toMatch(/Authorization/);
    expect(pre.headers.vary).toMatch(/Origin/);
    const get = await h.http.get('/healthz').set('Origin', APP);
    expect(get.headers['access-control-allow-origin']).toBe(APP);
    expect(get.headers['access-control-expose-headers']).toMatch(/X-Request-Id/);
  });

  test('any other origin gets no CORS header at all (never a wildcard, never reflected)', async () => {
    for (const origin of [OTHER, 'null', `${APP}.evil.test`, APP.replace('https', 'http')]) {
      const pre = await h.http.options('/auth/refresh').set('Origin', origin).set('Access-Control-Request-Method', 'POST');
      expect(pre.headers['access-control-allow-origin']).toBeUndefined();
      expect(pre.headers['access-control-allow-credentials']).toBeUndefined();
      const get = await h.http.get('/healthz').set('Origin', origin);
      expect(get.headers['access-control-allow-origin']).toBeUndefined();
    }
  });
});

describe('Cache-Control: no-store', () => {
  test('on every response that carries a token, and on /auth errors', async () => {
    const s = await signIn(h);
    const login = await h.http.post('/auth/login').send({ email: s.email, password: PASSWORD });
    expect(login.body.accessToken).toBeDefined();
    expect(login.headers['cache-control']).toBe('no-store');

    const csrf = await h.http.get('/auth/csrf');
    expect(csrf.body.csrfToken).toBeDefined();
    expect(csrf.headers['cache-control']).toBe('no-store');

    const rotated = await refresh(h, s);
    expect(rotated.status).toBe(200);
    expect(rotated.headers['cache-control']).toBe('no-store');

    const changed = await h.http
      .post('/auth/password/change')
      .set('Authorization', `Bearer ${s.accessToken}`)
      .set('Cookie', s.jar.header())
      .send({ currentPassword: PASSWORD, newPassword: 'another long passphrase 77' });
    expect(changed.status).toBe(200);
    expect(changed.body.accessToken).toBeDefined();
    expect(changed.headers['cache-control']).toBe('no-store');

    for (const res of [
      await h.http.post('/auth/refresh'),
      await h.http.post('/auth/login').send({ email: s.email, password: 'wrong password here' }),
      await h.http.post('/auth/mfa/verify').send({ challengeId: 'x', code: '000000' }),
      await h.http.post('/auth/switch-organization').send({}),
    ]) {
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.headers['cache-control']).toBe('no-store');
    }
    await csrfFor(h, s.jar);
  });
});
