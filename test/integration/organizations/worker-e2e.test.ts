import { QueryTypes } from 'sequelize';
import { buildEvent } from '../../../shared/src/events/outbox';
import { startWorker, type RunningWorker } from '../../../workers/src/worker';
import { refresh } from '../../support/browser-session';
import { startHarness, type Harness } from '../../support/harness';
import { eventSettled } from '../kit/kit-support';
import { bearer, createOrganization, memberSignedIn, serviceCredential } from './fixtures';

/** Organization and membership events through the real worker (queue, apply, audit, sync). */
let h: Harness;
let worker: RunningWorker;
let writer: string;
beforeAll(async () => {
  h = await startHarness();
  worker = await startWorker(h.config, { logger: h.deps.logger });
  writer = await serviceCredential(['organizations:write']);
});
afterAll(async () => {
  await worker.close();
  await h.close();
});

const me = (token: string) => h.http.get('/me').set('Authorization', bearer(token));

it('custom role changed: holders refused at once and refreshed once; the fan-out bumps the others', async () => {
  const org = await createOrganization(h, writer);
  const put = (permissions: string[]) => h.http.put(`/v1/organizations/${org}/roles/analyst`).set('Authorization', bearer(writer)).send({ permissions });
  await put(['reports:read', 'reports:export']);
  const holder = await memberSignedIn(h, writer, org, 'analyst');
  const other = await memberSignedIn(h, writer, org, 'member');
  const changed = await put(['reports:read']);
  expect(changed.status).toBe(200);
  expect((await me(holder.accessToken)).body.code).toBe('permissions_stale');
  expect(await eventSettled(h, changed.body.eventId)).toBe('organization.permissions_changed');

  expect((await me(other.accessToken)).body.code).toBe('permissions_stale');
  for (const s of [holder, other]) expect((await refresh(h, s)).status).toBe(200);
  expect((await me(holder.accessToken)).body.permissions).toEqual(['reports:read']);
  expect((await me(other.accessToken)).status).toBe(200);
  const [{ count }] = await h.deps.db.query<{ count: string }>('SELECT count(*) FROM audit_logs WHERE event_id = :id', {
    type: QueryTypes.SELECT,
    replacements: { id: changed.body.eventId },
  });
  expect(Number(count)).toBe(1);
});

it('membership.removed and organization.suspended published by a backend, delivered twice, apply once', async () => {
  const org = await createOrganization(h, writer);
  const a = await memberSignedIn(h, writer, org, 'member');
  const b = await memberSignedIn(h, writer, org, 'viewer');
  const removed = buildEvent({ type: 'membership.removed', source: 'backend', actor: { type: 'service', id: 'crm' }, data: { organizationId: org, userId: a.userId } });
  await h.deps.producer.publish(removed);
  expect(await eventSettled(h, removed.id)).toBe('membership.removed');
  expect((await me(a.accessToken)).body.code).toBe('membership_inactive');
  expect((await me(b.accessToken)).status).toBe(200);

  const suspended = buildEvent({ type: 'organization.suspended', source: 'backend', actor: { type: 'service', id: 'crm' }, data: { organizationId: org } });
  await h.deps.producer.publish(suspended);
  expect(await eventSettled(h, suspended.id)).toBe('organization.suspended');
  // A redelivery (same event id, new job) must not bump again.
  await h.deps.producer.queue.add(suspended.type, suspended, { jobId: `${suspended.id}-again` });
  let state = '';
  for (let i = 0; i < 200 && state !== 'completed' && state !== 'failed'; i++) {
    state = await h.deps.producer.queue.getJobState(`${suspended.id}-again`);
    if (state !== 'completed') await new Promise((r) => setTimeout(r, 50));
  }
  expect(state).toBe('completed');
  const [row] = await h.deps.db.query<{ permissions_version: number }>('SELECT permissions_version FROM memberships WHERE organization_id = :org AND user_id = :u', {
    type: QueryTypes.SELECT,
    replacements: { org, u: b.userId },
  });
  expect(row!.permissions_version).toBe(2);
  expect((await me(b.accessToken)).body.code).toBe('organization_suspended');
});

it('a suspension is first refused as organization_suspended, never as permissions_stale (which would have the client refresh)', async () => {
  const events = await serviceCredential(['events:write']);
  for (let run = 0; run < 8; run++) {
    const org = await createOrganization(h, writer);
    const member = await memberSignedIn(h, writer, org, 'member');
    expect((await me(member.accessToken)).status).toBe(200); // its state is in Redis
    const posted = await h.http.post('/v1/events').set('Authorization', bearer(events)).send({ type: 'organization.suspended', data: { organizationId: org } });
    expect(posted.status).toBe(202);
    let first: { status: number; code?: string } = { status: 200 };
    for (let i = 0; i < 2_000 && first.status === 200; i++) {
      const res = await me(member.accessToken);
      first = { status: res.status, code: res.body.code };
    }
    expect(first).toEqual({ status: 401, code: 'organization_suspended' });
  }
});
