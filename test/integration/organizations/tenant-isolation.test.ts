import { startHarness, type Harness } from '../../support/harness';
import { addMember, applyEvent, bearer, createOrganization, memberSignedIn, serviceCredential } from './fixtures';

/** A token for organization A never authorizes anything about organization B. */
let h: Harness;
let writer: string;
let orgA: string;
let orgB: string;
beforeAll(async () => {
  h = await startHarness();
  writer = await serviceCredential(['organizations:write', 'organizations:read']);
  orgA = await createOrganization(h, writer, 'A');
  orgB = await createOrganization(h, writer, 'B');
});
afterAll(() => h.close());

describe('member administration with user tokens', () => {
  it('lets an admin of A manage the members of A', async () => {
    const admin = await memberSignedIn(h, writer, orgA, 'admin');
    const newcomer = await memberSignedIn(h, writer, orgB, 'member');
    const list = await h.http.get(`/v1/organizations/${orgA}/members`).set('Authorization', bearer(admin.accessToken));
    expect(list.status).toBe(200);
    const add = await h.http
      .post(`/v1/organizations/${orgA}/members`)
      .set('Authorization', bearer(admin.accessToken))
      .send({ userId: newcomer.userId, role: 'viewer' });
    expect(add.status).toBe(201);
  });

  it('refuses an admin of A acting on B: list, add, role definition', async () => {
    const admin = await memberSignedIn(h, writer, orgA, 'admin');
    const victim = await memberSignedIn(h, writer, orgB, 'member');
    const auth = bearer(admin.accessToken);
    const list = await h.http.get(`/v1/organizations/${orgB}/members`).set('Authorization', auth);
    expect(list.status).toBe(403);
    expect(list.body.code).toBe('forbidden');
    expect(list.body).not.toHaveProperty('members');
    const add = await h.http.post(`/v1/organizations/${orgB}/members`).set('Authorization', auth).send({ userId: admin.userId, role: 'owner' });
    expect(add.status).toBe(403);
    const role = await h.http.put(`/v1/organizations/${orgB}/roles/member`).set('Authorization', auth).send({ permissions: ['*'] });
    expect(role.status).toBe(403);
    // Nothing changed in B.
    const members = await h.http.get(`/v1/organizations/${orgB}/members`).set('Authorization', bearer(writer));
    expect(members.body.members.map((m: { userId: string }) => m.userId)).not.toContain(admin.userId);
    expect((await h.http.get('/me').set('Authorization', bearer(victim.accessToken))).status).toBe(200);
  });

  it('refuses a token without organization context and a member without members:manage', async () => {
    const viewer = await memberSignedIn(h, writer, orgA, 'viewer');
    const res = await h.http.get(`/v1/organizations/${orgA}/members`).set('Authorization', bearer(viewer.accessToken));
    expect(res.status).toBe(403);
    const noOrg = await h.http.post('/auth/login').send({ email: viewer.email, password: 'correct horse battery staple' });
    const res2 = await h.http.get(`/v1/organizations/${orgA}/members`).set('Authorization', bearer(noOrg.body.accessToken));
    expect(res2.status).toBe(403);
  });

  it('refuses an admin granting what they do not hold (no escalation to owner)', async () => {
    const admin = await memberSignedIn(h, writer, orgA, 'admin');
    const other = await memberSignedIn(h, writer, orgB, 'member');
    const owner = await h.http
      .post(`/v1/organizations/${orgA}/members`)
      .set('Authorization', bearer(admin.accessToken))
      .send({ userId: other.userId, role: 'owner' });
    expect(owner.status).toBe(403);
    const wide = await h.http.put(`/v1/organizations/${orgA}/roles/super`).set('Authorization', bearer(admin.accessToken)).send({ permissions: ['*'] });
    expect(wide.status).toBe(403);
    const ok = await h.http
      .put(`/v1/organizations/${orgA}/roles/helper`)
      .set('Authorization', bearer(admin.accessToken))
      .send({ permissions: ['reports:read'] });
    expect(ok.status).toBe(201);
  });

  it('stops an admin at once when their token goes stale', async () => {
    const org = await createOrganization(h, writer, 'C');
    const admin = await memberSignedIn(h, writer, org, 'admin');
    await applyEvent(h, 'membership.role_changed', { organizationId: org, userId: admin.userId, role: 'viewer' });
    const res = await h.http.get(`/v1/organizations/${org}/members`).set('Authorization', bearer(admin.accessToken));
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('permissions_stale');
  });
});

describe('service calls mixing organizations', () => {
  it("refuses B's members endpoint with A's custom role", async () => {
    await h.http.put(`/v1/organizations/${orgA}/roles/a-only`).set('Authorization', bearer(writer)).send({ permissions: ['reports:read'] });
    const user = await memberSignedIn(h, writer, orgA, 'member');
    const res = await h.http.post(`/v1/organizations/${orgB}/members`).set('Authorization', bearer(writer)).send({ userId: user.userId, role: 'a-only' });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('validation_failed');
  });

  it("refuses events naming B with a member of A only, leaving A's membership untouched", async () => {
    const s = await memberSignedIn(h, writer, orgA, 'member');
    await expect(applyEvent(h, 'membership.role_changed', { organizationId: orgB, userId: s.userId, role: 'owner' })).rejects.toMatchObject({
      code: 'not_found',
    });
    await expect(applyEvent(h, 'membership.removed', { organizationId: orgB, userId: s.userId })).rejects.toMatchObject({ code: 'not_found' });
    const me = await h.http.get('/me').set('Authorization', bearer(s.accessToken));
    expect(me.status).toBe(200);
    expect(me.body.membership.role).toBe('member');
  });

  it('never lets a token for A act in B, even for a member of both', async () => {
    const s = await memberSignedIn(h, writer, orgA, 'admin');
    await addMember(h, writer, orgB, s.userId, 'viewer');
    const res = await h.http.get(`/v1/organizations/${orgB}/members`).set('Authorization', bearer(s.accessToken));
    expect(res.status).toBe(403);
  });
});
