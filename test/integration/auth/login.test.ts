import { startHarness, PASSWORD, uniqueEmail, type Harness } from '../../support/harness';
import { Membership, Organization } from '../../../shared/src/db/models';
import { registerUser, signIn } from '../../support/browser-session';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());

describe('register and login', () => {
  it('signs in with a refresh cookie carrying every required flag', async () => {
    const email = await registerUser(h);
    const res = await h.http.post('/auth/login').send({ email, password: PASSWORD, deviceName: 'laptop' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ tokenType: 'Bearer', expiresIn: 600, session: { id: expect.any(String) } });
    expect(res.body.user).toMatchObject({ email, emailVerified: false });
    expect(res.body).not.toHaveProperty('organization');
    expect(res.body).not.toHaveProperty('refreshToken');
    const cookie = (res.headers['set-cookie'] as unknown as string[]).find((c) => c.startsWith('__Host-lk_rt='))!;
    expect(cookie).toMatch(/; HttpOnly/);
    expect(cookie).toMatch(/; Secure/);
    expect(cookie).toMatch(/; SameSite=Strict/);
    expect(cookie).toMatch(/; Path=\//);
    expect(cookie).not.toMatch(/Domain=/i);
    expect(Number(/Max-Age=(\d+)/.exec(cookie)![1])).toBeGreaterThan(13 * 86400);
    expect(res.headers['cache-control']).toBe('no-store');
    const [header] = res.body.accessToken.split('.');
    expect(JSON.parse(Buffer.from(header, 'base64url').toString())).toMatchObject({ alg: 'ES256', typ: 'at+jwt' });
  });

  it('answers register the same way for a known address and mails the owner instead', async () => {
    const email = await registerUser(h);
    const again = await h.http.post('/auth/register').send({ email, password: 'another long password' });
    expect(again.status).toBe(202);
    expect(again.body).toEqual({ status: 'accepted' });
  });

  it('refuses a wrong password and an unknown account with the same answer', async () => {
    const email = await registerUser(h);
    const wrong = await h.http.post('/auth/login').send({ email, password: 'not the password at all' });
    const unknown = await h.http.post('/auth/login').send({ email: uniqueEmail(), password: PASSWORD });
    for (const res of [wrong, unknown]) {
      expect(res.status).toBe(401);
      expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
      expect(res.body).toMatchObject({ code: 'invalid_credentials', status: 401, requestId: expect.any(String) });
    }
    expect(Object.keys(wrong.body).sort()).toEqual(Object.keys(unknown.body).sort());
  });

  it('refuses short passwords and malformed bodies with validation_failed', async () => {
    const short = await h.http.post('/auth/register').send({ email: uniqueEmail(), password: 'short' });
    expect(short.status).toBe(400);
    expect(short.body.code).toBe('validation_failed');
    const junk = await h.http.post('/auth/login').set('Content-Type', 'application/json').send('{"email":');
    expect(junk.body.code).toBe('validation_failed');
    const form = await h.http.post('/auth/login').type('form').send('email=a');
    expect(form.status).toBe(415);
    expect(form.body.code).toBe('unsupported_media_type');
    const latin1 = await h.http.post('/auth/login').set('Content-Type', 'application/json; charset=latin1').send('{"email":"a@b.c"}');
    expect(latin1.status).toBe(415);
    expect(latin1.body.code).toBe('unsupported_media_type');
    const big = await h.http.post('/auth/login').send({ email: 'a@b.c', password: 'x'.repeat(20_000) });
    expect(big.status).toBe(413);
    expect(big.body.code).toBe('payload_too_large');
  });

  it('refuses an organization the user is not a member of with 403 forbidden', async () => {
    const email = await registerUser(h);
    // Any well-formed id, RFC 9562 version or not (Postgres takes both), is a membership question.
    for (const organizationId of ['00000000-0000-4000-8000-000000000000', '00000000-0000-0000-0000-000000000001']) {
      const res = await h.http.post('/auth/login').send({ email, password: PASSWORD, organizationId });
      expect(res.status).toBe(403);
      expect(res.body.code).toBe('forbidden');
    }
  });

  it('refuses an organization id that is not a uuid as one the user is not a member of: 403 forbidden, no query', async () => {
    const s = await signIn(h);
    const findMembership = jest.spyOn(Membership, 'findOne');
    const findOrganization = jest.spyOn(Organization, 'findByPk');
    try {
      for (const organizationId of ['acme', '', 'not-a-uuid-0000-0000-000000000000', 'x'.repeat(100)]) {
        const login = await h.http.post('/auth/login').send({ email: s.email, password: PASSWORD, organizationId });
        expect([login.status, login.body.code]).toEqual([403, 'forbidden']);
        expect(login.headers['set-cookie']).toBeUndefined();
        const sw = await h.http.post('/auth/switch-organization').set('Authorization', `Bearer ${s.accessToken}`).send({ organizationId });
        expect([sw.status, sw.body.code]).toEqual([403, 'forbidden']);
      }
      expect(findMembership).not.toHaveBeenCalled();
      expect(findOrganization).not.toHaveBeenCalled();
    } finally {
      findMembership.mockRestore();
      findOrganization.mockRestore();
    }
    // Text no request could mean stays a 400: too long, or not storable.
    for (const organizationId of ['x'.repeat(101), 'a\u0000b', 42]) {
      const login = await h.http.post('/auth/login').send({ email: s.email, password: PASSWORD, organizationId });
      expect([login.status, login.body.code]).toEqual([400, 'validation_failed']);
    }
    // The session is as it was.
    expect((await h.http.get('/me').set('Authorization', `Bearer ${s.accessToken}`)).body.organization).toBeNull();
  });

  it('refuses a cross-site login', async () => {
    const email = await registerUser(h);
    const res = await h.http.post('/auth/login').set('Origin', 'https://evil.example').send({ email, password: PASSWORD });
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('csrf_invalid');
    const site = await h.http.post('/auth/login').set('Sec-Fetch-Site', 'cross-site').send({ email, password: PASSWORD });
    expect(site.body.code).toBe('csrf_invalid');
  });

  it("accepts a login from the API's own origin, under whichever host name it was reached", async () => {
    const email = await registerUser(h);
    const own = await h.http.post('/auth/login').set('Host', 'auth.example.test:8443').set('Origin', 'http://auth.example.test:8443').send({ email, password: PASSWORD });
    expect(own.status).toBe(200);
    const otherPort = await h.http.post('/auth/login').set('Host', 'auth.example.test:8443').set('Origin', 'http://auth.example.test:9999').send({ email, password: PASSWORD });
    expect(otherPort.status).toBe(403);
    expect(otherPort.body.code).toBe('csrf_invalid');
    const otherScheme = await h.http.post('/auth/login').set('Host', 'auth.example.test:8443').set('Origin', 'https://auth.example.test:8443').send({ email, password: PASSWORD });
    expect(otherScheme.body.code).toBe('csrf_invalid');
  });

  it('serves /me and echoes a valid request id', async () => {
    const s = await signIn(h);
    const res = await h.http.get('/me').set('Authorization', `Bearer ${s.accessToken}`).set('X-Request-Id', 'abc.123-x_y');
    expect(res.status).toBe(200);
    expect(res.headers['x-request-id']).toBe('abc.123-x_y');
    expect(res.body).toEqual({
      user: { id: s.userId, email: s.email, name: 'Test User', emailVerified: false },
      organization: null,
      membership: null,
      permissions: [],
    });
    // The scheme is case-insensitive (RFC 9110).
    for (const scheme of ['bearer', 'BEARER']) expect((await h.http.get('/me').set('Authorization', `${scheme} ${s.accessToken}`)).status).toBe(200);
    const bad = await h.http.get('/me').set('X-Request-Id', 'bad id!');
    expect(bad.headers['x-request-id']).not.toBe('bad id!');
    expect(bad.status).toBe(401);
    expect(bad.body.code).toBe('invalid_token');
  });
});
