import { startHarness, type Harness } from '../../support/harness';
import { csrfFor, refresh, signIn, CookieJar } from '../../support/browser-session';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ REFRESH_GRACE_SECONDS: '2' });
});
afterAll(() => h.close());

const me = (token: string) => h.http.get('/me').set('Authorization', `Bearer ${token}`);
const rtOf = (s: { jar: CookieJar }) => s.jar.get('__Host-lk_rt')!;

describe('refresh rotation', () => {
  it('rotates: a new access token and a new refresh cookie, the old token marked used', async () => {
    const s = await signIn(h);
    const first = rtOf(s);
    const res = await refresh(h, s);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ tokenType: 'Bearer', session: { id: s.sessionId } });
    expect(rtOf(s)).not.toBe(first);
    expect(res.headers['cache-control']).toBe('no-store');
    expect((await me(res.body.accessToken)).status).toBe(200);
    expect(JSON.stringify(res.body)).not.toContain(rtOf(s));
  });

  it('requires the CSRF token and refuses other origins', async () => {
    const s = await signIn(h);
    const noToken = await h.http.post('/auth/refresh').set('Cookie', s.jar.header());
    expect(noToken.status).toBe(403);
    expect(noToken.body.code).toBe('csrf_invalid');
    const wrongToken = await h.http.post('/auth/refresh').set('Cookie', s.jar.header()).set('X-CSRF-Token', 'x');
    expect(wrongToken.body.code).toBe('csrf_invalid');
    const inQuery = await h.http.post(`/auth/refresh?_csrf=${encodeURIComponent(s.csrf)}`).set('Cookie', s.jar.header());
    expect(inQuery.body.code).toBe('csrf_invalid');
    const foreign = await h.http.post('/auth/refresh').set('Cookie', s.jar.header()).set('X-CSRF-Token', s.csrf).set('Origin', 'https://evil.example');
    expect(foreign.body.code).toBe('csrf_invalid');
    expect((await refresh(h, s)).status).toBe(200);
  });

  it('refuses a missing or unknown cookie with refresh_token_invalid', async () => {
    const jar = new CookieJar();
    const csrf = await csrfFor(h, jar);
    const none = await h.http.post('/auth/refresh').set('Cookie', jar.header()).set('X-CSRF-Token', csrf);
    expect(none.status).toBe(401);
    expect(none.body.code).toBe('refresh_token_invalid');
    jar.cookies.set('__Host-lk_rt', 'A'.repeat(43));
    const unknown = await h.http.post('/auth/refresh').set('Cookie', jar.header()).set('X-CSRF-Token', csrf);
    expect(unknown.body.code).toBe('refresh_token_invalid');
  });

  it('gives racing refreshes with one token the same successor and revokes nothing', async () => {
    const s = await signIn(h);
    const cookie = s.jar.header();
    const results = await Promise.all(
      Array.from({ length: 10 }, () => h.http.post('/auth/refresh').set('Cookie', cookie).set('X-CSRF-Token', s.csrf)),
    );
    expect(results.map((r) => r.status)).toEqual(Array(10).fill(200));
    const successors = new Set(results.map((r) => /__Host-lk_rt=([^;]+)/.exec((r.headers['set-cookie'] as unknown as string[]).join(';'))![1]));
    expect(successors.size).toBe(1);
    for (const r of results) expect((await me(r.body.accessToken)).status).toBe(200);
    s.jar.store(results[0]!.headers['set-cookie']);
    expect((await refresh(h, s)).status).toBe(200);
  });

  it("measures the grace window by Postgres's clock: an API host 30 s ahead of it does not take a racing tab for reuse", async () => {
    const s = await signIn(h);
    const otherTab = s.jar.header();
    expect((await refresh(h, s)).status).toBe(200);
    const realNow = Date.now;
    const ahead = jest.spyOn(Date, 'now').mockImplementation(() => realNow() + 30_000);
    try {
      const res = await h.http.post('/auth/refresh').set('Cookie', otherTab).set('X-CSRF-Token', s.csrf);
      expect(res.status).toBe(200);
    } finally {
      ahead.mockRestore();
    }
    expect((await refresh(h, s)).status).toBe(200);
  });

  it('detects reuse after the grace window: the family, its newest token and its access tokens are revoked', async () => {
    const s = await signIn(h);
    const stolen = s.jar.header();
    expect((await refresh(h, s)).status).toBe(200);
    const newestAccess = s.accessToken;
    await new Promise((r) => setTimeout(r, 2_300));
    const reuse = await h.http.post('/auth/refresh').set('Cookie', stolen).set('X-CSRF-Token', s.csrf);
    expect(reuse.status).toBe(401);
    expect(reuse.body.code).toBe('refresh_token_reused');
    const newest = await refresh(h, s);
    expect(newest.status).toBe(401);
    expect(newest.body.code).toBe('session_revoked');
    const access = await me(newestAccess);
    expect(access.status).toBe(401);
    expect(access.body.code).toBe('session_revoked');
    const [row] = await h.deps.db.query("SELECT type FROM events WHERE type = 'refresh_token.reused' AND data->>'sessionId' = :sid", {
      replacements: { sid: s.sessionId },
    });
    expect(row).toHaveLength(1);
  });

  it('a token of a family revoked by logout gets session_revoked and raises no alert', async () => {
    const s = await signIn(h);
    const old = s.jar.header();
    const out = await h.http.post('/auth/logout').set('Cookie', old).set('X-CSRF-Token', s.csrf);
    expect(out.status).toBe(204);
    const cleared = (out.headers['set-cookie'] as unknown as string[]).find((c) => c.startsWith('__Host-lk_rt='))!;
    expect(cleared).toMatch(/^__Host-lk_rt=;/);
    for (const flag of ['Max-Age=0', 'Expires=Thu, 01 Jan 1970 00:00:00 GMT', 'Path=/', 'HttpOnly', 'Secure', 'SameSite=Strict']) expect(cleared).toContain(flag);
    // Signing out again, the refresh cookie gone (or mangled), is the same 204: nothing is left to revoke.
    const csrfOnly = old.split('; ').filter((c) => !c.startsWith('__Host-lk_rt=')).join('; ');
    for (const cookie of [csrfOnly, `${csrfOnly}; __Host-lk_rt=not-a-token`]) {
      const again = await h.http.post('/auth/logout').set('Cookie', cookie).set('X-CSRF-Token', s.csrf);
      expect(again.status).toBe(204);
    }
    // The CSRF token is needed only where a cookie authenticates: with no refresh cookie, none does.
    expect((await h.http.post('/auth/logout').set('Cookie', csrfOnly)).status).toBe(204);
    expect((await h.http.post('/auth/logout')).status).toBe(204);
    expect((await h.http.post('/auth/logout').set('Cookie', `${csrfOnly}; __Host-lk_rt=not-a-token`)).body.code).toBe('csrf_invalid');
    expect((await h.http.post('/auth/logout').set('Sec-Fetch-Site', 'cross-site')).body.code).toBe('csrf_invalid');
    const res = await h.http.post('/auth/refresh').set('Cookie', old).set('X-CSRF-Token', s.csrf);
    expect(res.body.code).toBe('session_revoked');
    const [rows] = await h.deps.db.query("SELECT 1 FROM events WHERE type = 'refresh_token.reused' AND data->>'sessionId' = :sid", {
      replacements: { sid: s.sessionId },
    });
    expect(rows).toHaveLength(0);
  });

  it('slides the idle expiry and bounds the cookie by the absolute lifetime', async () => {
    const s = await signIn(h);
    await h.deps.db.query("UPDATE sessions SET expires_at = now() + interval '1 hour' WHERE id = :id", { replacements: { id: s.sessionId } });
    const res = await refresh(h, s);
    const cookie = (res.headers['set-cookie'] as unknown as string[]).find((c) => c.startsWith('__Host-lk_rt='))!;
    const maxAge = Number(/Max-Age=(\d+)/.exec(cookie)![1]);
    expect(maxAge).toBeLessThanOrEqual(3600);
    expect(maxAge).toBeGreaterThan(3500);
  });

  it('refuses an expired session with session_expired', async () => {
    const s = await signIn(h);
    await h.deps.db.query("UPDATE sessions SET idle_expires_at = now() - interval '1 second' WHERE id = :id", { replacements: { id: s.sessionId } });
    const res = await refresh(h, s);
    expect(res.body.code).toBe('session_expired');
  });
});
