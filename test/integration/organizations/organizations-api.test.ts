import { QueryTypes } from 'sequelize';
import { signIn } from '../../support/browser-session';
import { startHarness, type Harness } from '../../support/harness';
import { addMember, applyEvent, bearer, createOrganization, memberSignedIn, serviceCredential } from './fixtures';

let h: Harness;
let writer: string;
let reader: string;
beforeAll(async () => {
  h = await startHarness();
  writer = await serviceCredential(['organizations:write', 'organizations:read']);
  reader = await serviceCredential(['organizations:read']);
});
afterAll(() => h.close());

describe('POST /v1/organizations', () => {
  it('creates an organization with a service credential holding organizations:write', async () => {
    const res = await h.http.post('/v1/organizations').set('Authorization', bearer(writer)).send({ name: 'Acme Corp', slug: `acme-${Date.now()}` });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ id: expect.any(String), name: 'Acme Corp', slug: expect.stringMatching(/^acme-/), status: 'active' });
    const again = await h.http.post('/v1/organizations').set('Authorization', bearer(writer)).send({ name: 'Other', slug: res.body.slug });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('conflict');
  });

  it('derives a unique slug when none is given', async () => {
    const a = await h.http.post('/v1/organizations').set('Authorization', bearer(writer)).send({ name: 'Same Name' });
    const b = await h.http.post('/v1/organizations').set('Authorization', bearer(writer)).send({ name: 'Same Name' });
    expect(a.body.slug).toMatch(/^same-name-/);
    expect(b.body.slug).not.toBe(a.body.slug);
  });

  it('refuses no credential (401), a credential without the scope (403), a user token (401)', async () => {
    const none = await h.http.post('/v1/organizations').send({ name: 'X' });
    expect(none.status).toBe(401);
    expect(none.body.code).toBe('invalid_token');
    const scoped = await h.http.post('/v1/organizations').set('Authorization', bearer(reader)).send({ name: 'X' });
    expect(scoped.status).toBe(403);
    expect(scoped.body.code).toBe('forbidden');
    const user = await signIn(h);
    const asUser = await h.http.post('/v1/organizations').set('Authorization', bearer(user.accessToken)).send({ name: 'X' });
    expect(asUser.status).toBe(401);
  });

  it('validates the body', async () => {
    const res = await h.http.post('/v1/organizations').set('Authorization', bearer(writer)).send({ name: '', slug: 'Bad Slug' });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('validation_failed');
  });
});

describe('members', () => {
  it("shows an owner every permission: `*` and the ones the built-in roles name", async () => {
    const org = await createOrganization(h, writer);
    const owner = await memberSignedIn(h, writer, org, 'owner');
    const me = await h.http.get('/me').set('Authorization', bearer(owner.accessToken));
    expect(me.body.permissions).toEqual(expect.arrayContaining(['*', 'members:manage', 'audit:read', 'sessions:manage', 'reports:read', 'projects:write']));
  });

  it('adds a member and lists members with their roles', async () => {
    const org = await createOrganization(h, writer);
    const user = await signIn(h);
    const res = await h.http.post(`/v1/organizations/${org}/members`).set('Authorization', bearer(writer)).send({ userId: user.userId, role: 'viewer' });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ membershipId: expect.any(String), userId: user.userId, organizationId: org, role: 'viewer', status: 'active' });
    const list = await h.http.get(`/v1/organizations/${org}/members`).set('Authorization', bearer(reader));
    expect(list.status).toBe(200);
    expect(list.body.members).toEqual([
      expect.objectContaining({ membershipId: res.body.membershipId, userId: user.userId, email: user.email, role: 'viewer', status: 'active' }),
    ]);
    expect(list.body.nextCursor).toBeNull();
  });

  it('refuses an unknown user (404), an unknown role (400), a duplicate (409), an unknown organization (404)', async () => {
    const org = await createOrganization(h, writer);
    const user = await signIn(h);
    const post = (orgId: string, body: object) => h.http.post(`/v1/organizations/${orgId}/members`).set('Authorization', bearer(writer)).send(body);
    expect((await post(org, { userId: '00000000-0000-4000-8000-000000000001', role: 'member' })).status).toBe(404);
    const badRole = await post(org, { userId: user.userId, role: 'wizard' });
    expect(badRole.status).toBe(400);
    expect(badRole.body.code).toBe('validation_failed');
    expect((await post(org, { userId: user.userId, role: 'member' })).status).toBe(201);
    const dup = await post(org, { userId: user.userId, role: 'admin' });
    expect(dup.status).toBe(409);
    expect((await post('00000000-0000-4000-8000-000000000002', { userId: user.userId, role: 'member' })).status).toBe(404);
  });

  it('pages the member list with a cursor', async () => {
    const org = await createOrganization(h, writer);
    for (let i = 0; i < 3; i++) await addMember(h, writer, org, (await signIn(h)).userId, 'member');
    const first = await h.http.get(`/v1/organizations/${org}/members?limit=2`).set('Authorization', bearer(reader));
    expect(first.body.members).toHaveLength(2);
    const second = await h.http.get(`/v1/organizations/${org}/members?limit=2&cursor=${first.body.nextCursor}`).set('Authorization', bearer(reader));
    expect(second.body.members).toHaveLength(1);
    const ids = [...first.body.members, ...second.body.members].map((m: { membershipId: string }) => m.membershipId);
    expect(new Set(ids).size).toBe(3);
  });

  it('re-adds a removed member with a higher permissions version', async () => {
    const org = await createOrganization(h, writer);
    const s = await memberSignedIn(h, writer, org, 'member');
    await applyEvent(h, 'membership.removed', { organizationId: org, userId: s.userId });
    expect((await h.http.get('/me').set('Authorization', bearer(s.accessToken))).body.code).toBe('membership_inactive');
    await addMember(h, writer, org, s.userId, 'viewer');
    const [row] = await h.deps.db.query<{ status: string; permissions_version: number }>(
      'SELECT status, permissions_version FROM memberships WHERE organization_id = :org AND user_id = :u',
      { type: QueryTypes.SELECT, replacements: { org, u: s.userId } },
    );
    expect(row).toEqual({ status: 'active', permissions_version: 3 });
    // The token from before the removal stays refused (its pv is 1).
    const me = await h.http.get('/me').set('Authorization', bearer(s.accessToken));
    expect(me.body.code).toBe('permissions_stale');
  });
});

describe('PUT /v1/organizations/:id/roles/:role', () => {
  it('defines a custom role (201), changes it (200), emits organization.permissions_changed', async () => {
    const org = await createOrganization(h, writer);
    const put = (permissions: string[]) =>
      h.http.put(`/v1/organizations/${org}/roles/billing`).set('Authorization', bearer(writer)).send({ permissions });
    const created = await put(['invoices:read', 'invoices:write', 'invoices:read']);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ organizationId: org, role: 'billing', permissions: ['invoices:read', 'invoices:write'], membersAffected: 0 });
    const changed = await put(['invoices:read']);
    expect(changed.status).toBe(200);
    const [event] = await h.deps.db.query<{ type: string; data: { organizationId: string } }>('SELECT type, data FROM events WHERE id = :id', {
      type: QueryTypes.SELECT,
      replacements: { id: changed.body.eventId },
    });
    expect(event).toEqual({ type: 'organization.permissions_changed', data: { organizationId: org } });
  });

  it('refuses to redefine owner, malformed permissions, and an unknown organization', async () => {
    const org = await createOrganization(h, writer);
    const owner = await h.http.put(`/v1/organizations/${org}/roles/owner`).set('Authorization', bearer(writer)).send({ permissions: [] });
    expect(owner.status).toBe(409);
    const bad = await h.http.put(`/v1/organizations/${org}/roles/x`).set('Authorization', bearer(writer)).send({ permissions: ['no-colon'] });
    expect(bad.status).toBe(400);
    const unknown = await h.http
      .put('/v1/organizations/00000000-0000-4000-8000-000000000003/roles/x')
      .set('Authorization', bearer(writer))
      .send({ permissions: [] });
    expect(unknown.status).toBe(404);
  });
});
