import { QueryTypes } from 'sequelize';
import supertest from 'supertest';
import { createProductBackend } from '../../../examples/product-backend/src/app';
import { EventProducer } from '../../../shared/src/kit';
import { createRedis } from '../../../shared/src/redis/client';
import { startWorker, type RunningWorker } from '../../../workers/src/worker';
import { refresh } from '../../support/browser-session';
import { startHarness, type Harness } from '../../support/harness';
import { bearer, createOrganization, memberSignedIn, serviceCredential } from '../organizations/fixtures';
import { eventSettled, listen } from './kit-support';

/** The example product backend against a listening Latchkey and the real security-events worker. */
let h: Harness;
let latchkey: Awaited<ReturnType<typeof listen>>;
let worker: RunningWorker;
let producer: EventProducer;
let producerRedis: ReturnType<typeof createRedis>;
let backend: ReturnType<typeof supertest>;
let writer: string;

beforeAll(async () => {
  h = await startHarness();
  latchkey = await listen(h);
  worker = await startWorker(h.config, { logger: h.deps.logger });
  writer = await serviceCredential(['organizations:write']);
  producerRedis = createRedis(h.config.redisUrl);
  producer = new EventProducer(producerRedis, h.config.queuePrefix);
  backend = supertest(
    createProductBackend({
      latchkeyUrl: latchkey.url,
      redis: h.deps.redis,
      issuer: h.config.jwt.issuer,
      audience: h.config.jwt.audience,
      keyPrefix: h.config.redisKeyPrefix,
      introspectionCredential: await serviceCredential(['introspect']),
      producer,
    }),
  );
});
afterAll(async () => {
  await producer.close();
  producerRedis.disconnect();
  await worker.close();
  await latchkey.close();
  await h.close();
});

it('authorizes by role, and a role change it publishes applies after one refresh', async () => {
  const org = await createOrganization(h, writer);
  const admin = await memberSignedIn(h, writer, org, 'admin');
  const viewer = await memberSignedIn(h, writer, org, 'viewer');

  const read = await backend.get('/reports').set('Authorization', bearer(viewer.accessToken));
  expect(read.status).toBe(200);
  expect(read.body.organizationId).toBe(org);
  expect((await backend.post('/reports').set('Authorization', bearer(viewer.accessToken))).status).toBe(403);
  expect((await backend.put(`/team/${admin.userId}/role`).set('Authorization', bearer(viewer.accessToken)).send({ role: 'viewer' })).status).toBe(403);

  const change = await backend.put(`/team/${viewer.userId}/role`).set('Authorization', bearer(admin.accessToken)).send({ role: 'member' });
  expect(change.status).toBe(202);
  expect(await eventSettled(h, change.body.eventId)).toBe('membership.role_changed');

  const stale = await backend.post('/reports').set('Authorization', bearer(viewer.accessToken));
  expect(stale.status).toBe(401);
  expect(stale.body.code).toBe('permissions_stale');
  expect((await refresh(h, viewer)).status).toBe(200);
  expect((await backend.post('/reports').set('Authorization', bearer(viewer.accessToken))).status).toBe(201);

  const [event] = await h.deps.db.query<{ status: string }>('SELECT status FROM events WHERE id = :id', {
    type: QueryTypes.SELECT,
    replacements: { id: change.body.eventId },
  });
  expect(event).toEqual({ status: 'processed' });
  const audit = await h.deps.db.query<{ type: string; organization_id: string }>(
    'SELECT type, organization_id FROM audit_logs WHERE event_id = :id',
    { type: QueryTypes.SELECT, replacements: { id: change.body.eventId } },
  );
  expect(audit).toEqual([{ type: 'membership.role_changed', organization_id: org }]);
});

it("an admin of A cannot change a role in B through it: the event names A and is rejected", async () => {
  const orgA = await createOrganization(h, writer, 'A');
  const orgB = await createOrganization(h, writer, 'B');
  const adminA = await memberSignedIn(h, writer, orgA, 'admin');
  const memberB = await memberSignedIn(h, writer, orgB, 'member');
  const change = await backend.put(`/team/${memberB.userId}/role`).set('Authorization', bearer(adminA.accessToken)).send({ role: 'viewer' });
  expect(change.status).toBe(202);
  expect(await eventSettled(h, change.body.eventId)).toBe('event.rejected');
  const me = await h.http.get('/me').set('Authorization', bearer(memberB.accessToken));
  expect(me.status).toBe(200);
  expect(me.body.membership.role).toBe('member');
  expect((await backend.post('/reports').set('Authorization', bearer(memberB.accessToken))).status).toBe(201);
});
