import { signIn } from '../../support/browser-session';
import { startHarness, type Harness } from '../../support/harness';
import { applyEvent, bearer, createOrganization, memberSignedIn, serviceCredential } from '../organizations/fixtures';

/** POST /v1/introspect (RFC 7662): full verification; `{active:false}` and nothing else on refusal. */
let h: Harness;
let introspector: string;
let writer: string;
beforeAll(async () => {
  h = await startHarness();
  introspector = await serviceCredential(['introspect']);
  writer = await serviceCredential(['organizations:write']);
});
afterAll(() => h.close());

const introspect = (token: string, credential = introspector) =>
  h.http.post('/v1/introspect').set('Authorization', bearer(credential)).send({ token });

it('describes an active token with its organization and current permissions', async () => {
  const org = await createOrganization(h, writer);
  const s = await memberSignedIn(h, writer, org, 'viewer');
  const res = await introspect(s.accessToken);
  expect(res.status).toBe(200);
  expect(res.headers['cache-control']).toBe('no-store');
  expect(res.body).toMatchObject({
    active: true,
    token_type: 'access_token',
    iss: h.config.jwt.issuer,
    aud: h.config.jwt.audience,
    sub: s.userId,
    sid: s.sessionId,
    org,
    mid: expect.any(String),
    pv: 1,
    permissions: ['reports:read', 'projects:read'],
    exp: expect.any(Number),
  });
});

it('answers exactly {active:false} for garbage, revoked, stale, removed and suspended tokens', async () => {
  const org = await createOrganization(h, writer);
  const revoked = await signIn(h);
  await h.http.post('/auth/logout').set('Authorization', bearer(revoked.accessToken));
  const stale = await memberSignedIn(h, writer, org, 'member');
  await applyEvent(h, 'membership.role_changed', { organizationId: org, userId: stale.userId, role: 'viewer' });
  const org2 = await createOrganization(h, writer);
  const suspended = await memberSignedIn(h, writer, org2, 'member');
  await applyEvent(h, 'organization.suspended', { organizationId: org2 });
  for (const token of ['not-a-token', `${revoked.accessToken.slice(0, -2)}AA`, revoked.accessToken, stale.accessToken, suspended.accessToken]) {
    const res = await introspect(token);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ active: false });
  }
});

it('requires a credential with the introspect scope', async () => {
  const s = await signIn(h);
  const none = await h.http.post('/v1/introspect').send({ token: s.accessToken });
  expect(none.status).toBe(401);
  expect((await introspect(s.accessToken, writer)).status).toBe(403);
  const asUser = await h.http.post('/v1/introspect').set('Authorization', bearer(s.accessToken)).send({ token: s.accessToken });
  expect(asUser.status).toBe(401);
  const bad = await h.http.post('/v1/introspect').set('Authorization', bearer(introspector)).send({});
  expect(bad.status).toBe(400);
});
