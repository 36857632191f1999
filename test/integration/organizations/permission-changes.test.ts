import { refresh, signIn } from '../../support/browser-session';
import { startHarness, type Harness } from '../../support/harness';
import { addMember, applyEvent, applyStoredEvent, bearer, createOrganization, memberSignedIn, serviceCredential } from './fixtures';

/**
 * Role changes, removals, suspensions and custom-role changes, handler by handler (apply in a
 * transaction, sync after commit, as the worker runs them), seen from a signed-in browser.
 */
let h: Harness;
let writer: string;
beforeAll(async () => {
  h = await startHarness();
  writer = await serviceCredential(['organizations:write', 'organizations:read']);
});
afterAll(() => h.close());

const me = (token: string) => h.http.get('/me').set('Authorization', bearer(token));

describe('membership.role_changed', () => {
  it('downgrade: the old token is refused with permissions_stale, refresh brings the new permissions', async () => {
    const org = await createOrganization(h, writer);
    const s = await memberSignedIn(h, writer, org, 'admin');
    const before = await me(s.accessToken);
    expect(before.body.membership.role).toBe('admin');
    expect(before.body.permissions).toContain('members:manage');

    await applyEvent(h, 'membership.role_changed', { organizationId: org, userId: s.userId, role: 'viewer' });

    const stale = await me(s.accessToken);
    expect(stale.status).toBe(401);
    expect(stale.body.code).toBe('permissions_stale');
    expect(stale.headers['www-authenticate']).toBe('Bearer error="invalid_token", error_description="permissions_stale"');

    const refreshed = await refresh(h, s);
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.organization).toEqual({ id: org, name: 'Acme' });
    const after = await me(s.accessToken);
    expect(after.status).toBe(200);
    expect(after.body.membership.role).toBe('viewer');
    expect(after.body.permissions).toEqual(['reports:read', 'projects:read']);
  });

  it('refuses an unknown role or a user who is not a member (nothing changes)', async () => {
    const org = await createOrganization(h, writer);
    const s = await memberSignedIn(h, writer, org, 'member');
    await expect(applyEvent(h, 'membership.role_changed', { organizationId: org, userId: s.userId, role: 'wizard' })).rejects.toMatchObject({
      code: 'validation_failed',
    });
    const stranger = await signIn(h);
    await expect(applyEvent(h, 'membership.role_changed', { organizationId: org, userId: stranger.userId, role: 'viewer' })).rejects.toMatchObject({
      code: 'not_found',
    });
    await expect(
      applyEvent(h, 'membership.role_changed', { organizationId: '00000000-0000-4000-8000-000000000009', userId: s.userId, role: 'viewer' }),
    ).rejects.toMatchObject({ code: 'not_found' });
    expect((await me(s.accessToken)).status).toBe(200);
  });
});

describe('membership.removed', () => {
  it('ends all access in that organization: token, refresh into it, switch into it', async () => {
    const org = await createOrganization(h, writer);
    const s = await memberSignedIn(h, writer, org, 'member');
    await applyEvent(h, 'membership.removed', { organizationId: org, userId: s.userId });

    const res = await me(s.accessToken);
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('membership_inactive');
    const refused = await refresh(h, s);
    expect(refused.status).toBe(401);
    expect(refused.body.code).toBe('membership_inactive');
    const login = await h.http.post('/auth/login').send({ email: s.email, password: 'correct horse battery staple', organizationId: org });
    expect(login.status).toBe(403);
    const plain = await signIn(h, { email: s.email });
    const sw = await h.http.post('/auth/switch-organization').set('Authorization', bearer(plain.accessToken)).send({ organizationId: org });
    expect(sw.status).toBe(403);
    expect(sw.body.code).toBe('forbidden');
  });
});

describe('switch-organization', () => {
  it('never mints a token out of a session revoked in Postgres, whatever Redis still holds', async () => {
    const org = await createOrganization(h, writer);
    const s = await memberSignedIn(h, writer, org, 'member');
    const plain = await signIn(h, { email: s.email });
    expect((await me(plain.accessToken)).status).toBe(200); // cached live in Redis
    // Revoked in Postgres only, as when its write-through failed (a 503) or Redis missed it.
    await h.deps.db.query('UPDATE sessions SET revoked_at = now() WHERE id = :id', { replacements: { id: plain.sessionId } });
    const sw = await h.http.post('/auth/switch-organization').set('Authorization', bearer(plain.accessToken)).send({ organizationId: org });
    expect(sw.status).toBe(401);
    expect(sw.body.code).toBe('session_revoked');
    expect(sw.body.accessToken).toBeUndefined();
  });

  it('refuses with the code verification would give: a signed-out user (newer token version) gets token_version_stale', async () => {
    const org = await createOrganization(h, writer);
    const s = await memberSignedIn(h, writer, org, 'member');
    const plain = await signIn(h, { email: s.email });
    expect((await me(plain.accessToken)).status).toBe(200);
    await h.deps.db.query('UPDATE users SET token_version = token_version + 1 WHERE id = :id', { replacements: { id: plain.userId } });
    const sw = await h.http.post('/auth/switch-organization').set('Authorization', bearer(plain.accessToken)).send({ organizationId: org });
    expect([sw.status, sw.body.code]).toEqual([401, 'token_version_stale']);
  });
});

describe('organization.suspended / reinstated', () => {
  it('refuses every token of the organization; after reinstatement old tokens stay refused, refresh works', async () => {
    const org = await createOrganization(h, writer);
    const a = await memberSignedIn(h, writer, org, 'member');
    const b = await memberSignedIn(h, writer, org, 'viewer');
    await applyEvent(h, 'organization.suspended', { organizationId: org, reason: 'billing' });
    for (const s of [a, b]) expect((await me(s.accessToken)).body.code).toBe('organization_suspended');
    expect((await refresh(h, a)).body.code).toBe('organization_suspended');

    await applyEvent(h, 'organization.reinstated', { organizationId: org });
    const old = await me(b.accessToken);
    expect(old.status).toBe(401);
    expect(old.body.code).toBe('permissions_stale');
    expect((await refresh(h, b)).status).toBe(200);
    expect((await me(b.accessToken)).status).toBe(200);

    // The same reinstatement again: the organization is active, nothing changes, tokens stay good.
    await applyEvent(h, 'organization.reinstated', { organizationId: org });
    expect((await me(b.accessToken)).status).toBe(200);
    expect((await me(a.accessToken)).body.code).toBe('permissions_stale');
  });

  it('reinstating an organization that is not suspended changes nothing: its members keep their tokens', async () => {
    const org = await createOrganization(h, writer);
    const s = await memberSignedIn(h, writer, org, 'member');
    await applyEvent(h, 'organization.reinstated', { organizationId: org });
    expect((await me(s.accessToken)).status).toBe(200);
  });
});

describe('custom role changed', () => {
  it('every member holding the role is refused until refresh; others keep working until the fan-out', async () => {
    const org = await createOrganization(h, writer);
    const put = (permissions: string[]) =>
      h.http.put(`/v1/organizations/${org}/roles/analyst`).set('Authorization', bearer(writer)).send({ permissions });
    expect((await put(['reports:read', 'reports:export'])).status).toBe(201);
    const holders = [await memberSignedIn(h, writer, org, 'analyst'), await memberSignedIn(h, writer, org, 'analyst')];
    const other = await memberSignedIn(h, writer, org, 'viewer');
    for (const s of holders) expect((await me(s.accessToken)).body.permissions).toEqual(['reports:export', 'reports:read']);

    const changed = await put(['reports:read']);
    expect(changed.status).toBe(200);
    expect(changed.body.membersAffected).toBe(2);
    // Immediately, before any worker ran: Redis was written through before the answer.
    for (const s of holders) expect((await me(s.accessToken)).body.code).toBe('permissions_stale');
    expect((await me(other.accessToken)).status).toBe(200);

    for (const s of holders) {
      expect((await refresh(h, s)).status).toBe(200);
      expect((await me(s.accessToken)).body.permissions).toEqual(['reports:read']);
    }

    // The worker's fan-out bumps every other member, but not the holders bumped with the event.
    await applyStoredEvent(h, changed.body.eventId);
    for (const s of holders) expect((await me(s.accessToken)).status).toBe(200);
    expect((await me(other.accessToken)).body.code).toBe('permissions_stale');
  });

  it('does not touch members of another organization holding a role of the same name', async () => {
    const orgA = await createOrganization(h, writer, 'A');
    const orgB = await createOrganization(h, writer, 'B');
    for (const org of [orgA, orgB]) {
      await h.http.put(`/v1/organizations/${org}/roles/analyst`).set('Authorization', bearer(writer)).send({ permissions: ['reports:read'] });
    }
    const inB = await memberSignedIn(h, writer, orgB, 'analyst');
    const res = await h.http.put(`/v1/organizations/${orgA}/roles/analyst`).set('Authorization', bearer(writer)).send({ permissions: [] });
    expect(res.body.membersAffected).toBe(0);
    expect((await me(inB.accessToken)).status).toBe(200);
  });
});

describe('switching between organizations with different roles', () => {
  it('gives each organization its own role and permissions in the same session', async () => {
    const orgA = await createOrganization(h, writer, 'A');
    const orgB = await createOrganization(h, writer, 'B');
    const s = await memberSignedIn(h, writer, orgA, 'admin');
    await addMember(h, writer, orgB, s.userId, 'auditor');

    const inA = await me(s.accessToken);
    expect(inA.body.organization).toEqual({ id: orgA, name: 'A' });
    expect(inA.body.permissions).toContain('members:manage');

    const sw = await h.http.post('/auth/switch-organization').set('Authorization', bearer(s.accessToken)).send({ organizationId: orgB });
    expect(sw.status).toBe(200);
    expect(sw.body.session.id).toBe(s.sessionId);
    const inB = await me(sw.body.accessToken);
    expect(inB.body.organization).toEqual({ id: orgB, name: 'B' });
    expect(inB.body.membership.role).toBe('auditor');
    expect(inB.body.permissions).toEqual(['audit:read']);

    // Refresh continues in the organization switched to.
    const r = await refresh(h, s);
    expect(r.body.organization).toEqual({ id: orgB, name: 'B' });
    const back = await h.http.post('/auth/switch-organization').set('Authorization', bearer(sw.body.accessToken)).send({ organizationId: orgA });
    expect((await me(back.body.accessToken)).body.permissions).toContain('members:manage');
  });
});
