import { QueryTypes } from 'sequelize';
import { stageAuditRecords } from '../../../shared/src/audit/audit-writer';
import { verifyAuditChain } from '../../../shared/src/audit/audit-verify';
import { buildEvent } from '../../../shared/src/events/outbox';
import { claimEvent, eventChainAppender } from '../../../workers/src/event-rows';
import { processJob } from '../../../workers/src/process-event';
import { signIn } from '../../support/browser-session';
import { addMember, createOrganization, serviceCredential as orgCredential } from '../organizations/fixtures';
import { auditRecords, jobOf, startRig, tokenVersion, waitFor, type WorkerRig } from './worker-harness';

/**
 * Events stage their audit records in their own transaction; appenders link staged records into
 * the chain in batches. These tests hold the batching to the same guarantees as one append per
 * event: one record per event, a chain that verifies, nothing left behind by a crash.
 */
let rig: WorkerRig;
beforeAll(async () => {
  rig = await startRig();
});
afterAll(() => rig.close());

/** Text that SQL literal escaping and string replacement patterns could get wrong. */
const TRICKY = `it's a \\ back'slash, $& and $1 and $' "quoted" ; COMMIT; --`;

const eventStatus = async (id: string) =>
  (await rig.h.deps.db.query<{ status: string }>('SELECT status FROM events WHERE id = :id', { type: QueryTypes.SELECT, replacements: { id } }))[0]
    ?.status;

it('a record staged by a process that died before chaining it is chained by the running worker; the event reads pending until then', async () => {
  const { h } = rig;
  const s = await signIn(h);
  const event = buildEvent({ type: 'user.logged_out_all', source: 'service:test', actor: { type: 'service', id: 'test' }, data: { userId: s.userId } });
  // What a delivery commits before it would wait for the chain: the claim and the staged record.
  await h.deps.db.transaction(async (t) => {
    expect(await claimEvent(h.deps.db, t, event)).toMatchObject({ claimed: true });
    await stageAuditRecords(h.deps.db, t, [{ eventId: event.id, type: event.type, severity: 'info', occurredAt: event.occurredAt, actor: event.actor, userId: s.userId }]);
  });
  // The rig's worker drains on its timer.
  await waitFor(async () => (await auditRecords(h, event.id)).length === 1, 'staged record chained');
  expect(await eventStatus(event.id)).toBe('processed');
  // Its staged copy is gone (other test files, sharing this database, may have records staged right now).
  const [{ n }] = (await h.deps.db.query('SELECT count(*)::int AS n FROM audit_staged WHERE event_id = :id', {
    type: QueryTypes.SELECT,
    replacements: { id: event.id },
  })) as [{ n: number }];
  expect(n).toBe(0);
  // A redelivery of that event finds it claimed: nothing is applied again, no second record.
  const before = await tokenVersion(h, s.userId);
  expect(await processJob(jobOf(event), rig.w.ctx)).toBe('duplicate');
  expect(await tokenVersion(h, s.userId)).toBe(before);
  expect(await auditRecords(h, event.id)).toHaveLength(1);
});

it('400 deliveries (300 events, 100 of them twice) through two appenders: one effect and one record per event, the chain verifies', async () => {
  const { h, w } = rig;
  const users = await Promise.all(Array.from({ length: 10 }, () => signIn(h)));
  const before = await Promise.all(users.map((u) => tokenVersion(h, u.userId)));
  const events = Array.from({ length: 300 }, (_, i) =>
    buildEvent({ type: 'user.logged_out_all', source: 'service:test', actor: { type: 'service', id: 'test' }, data: { userId: users[i % users.length]!.userId } }),
  );
  const other = { ...w.ctx, auditChain: eventChainAppender(h.deps.db) };
  const deliveries = [...events, ...events.slice(0, 100)].map((event, i) => ({ event, ctx: i % 2 ? other : w.ctx }));
  const outcomes: string[] = [];
  for (let i = 0; i < deliveries.length; i += 40) {
    outcomes.push(...(await Promise.all(deliveries.slice(i, i + 40).map(({ event, ctx }) => processJob(jobOf(event), ctx)))));
  }
  await Promise.all([w.ctx.auditChain.flushed(), other.auditChain.flushed()]);
  expect(outcomes.filter((o) => o === 'applied')).toHaveLength(300);
  expect(outcomes.filter((o) => o === 'duplicate')).toHaveLength(100);

  const [{ records, distinct }] = (await h.deps.db.query(
    'SELECT count(*)::int AS records, count(DISTINCT event_id)::int AS distinct FROM audit_logs WHERE event_id IN (:ids)',
    { type: QueryTypes.SELECT, replacements: { ids: events.map((e) => e.id) } },
  )) as [{ records: number; distinct: number }];
  expect({ records, distinct }).toEqual({ records: 300, distinct: 300 });
  const after = await Promise.all(users.map((u) => tokenVersion(h, u.userId)));
  expect(after.map((v, i) => v - before[i]!)).toEqual(users.map(() => 30));
  for (const e of events.slice(0, 20)) expect(await eventStatus(e.id)).toBe('processed');
  expect(await verifyAuditChain(h.deps.db)).toMatchObject({ ok: true });
});

it('an event refused by its handler keeps its one event.rejected record: a redelivery that could now apply is not applied', async () => {
  const { h, w } = rig;
  const credential = await orgCredential(['organizations:write']);
  const orgId = await createOrganization(h, credential, 'Rejections');
  const s = await signIn(h);
  await addMember(h, credential, orgId, s.userId, 'member');
  const event = buildEvent({ type: 'membership.role_changed', source: 'service:test', actor: { type: 'service', id: 'test' }, data: { organizationId: orgId, userId: s.userId, role: 'later-role' } });
  await expect(processJob(jobOf(event), w.ctx)).rejects.toThrow(/validation_failed/);
  // The role appears afterwards: the same event must still not apply a second outcome.
  const put = await h.http.put(`/v1/organizations/${orgId}/roles/later-role`).set('Authorization', `Bearer ${credential}`).send({ permissions: ['reports:read'] });
  expect(put.status).toBeLessThan(300);
  expect(await processJob(jobOf(event), w.ctx)).toBe('duplicate');
  const records = await auditRecords(h, event.id);
  expect(records.map((r) => r.type)).toEqual(['event.rejected']);
  expect(await eventStatus(event.id)).toBe('failed');
  const [{ role }] = (await h.deps.db.query('SELECT role FROM memberships WHERE organization_id = :orgId AND user_id = :userId', {
    type: QueryTypes.SELECT,
    replacements: { orgId, userId: s.userId },
  })) as [{ role: string }];
  expect(role).toBe('member');
});

it('a staged record whose event already has its record is still chained, unlinked and naming the event: the chain never stalls', async () => {
  const { h, w } = rig;
  const s = await signIn(h);
  const event = buildEvent({ type: 'user.logged_out_all', source: 'service:test', actor: { type: 'service', id: 'test' }, data: { userId: s.userId } });
  expect(await processJob(jobOf(event), w.ctx)).toBe('applied');
  await w.ctx.auditChain.flushed();
  // Claims make this impossible; the appender must survive it anyway.
  await h.deps.db.transaction((t) =>
    stageAuditRecords(h.deps.db, t, [{ eventId: event.id, type: event.type, severity: 'info', occurredAt: event.occurredAt, actor: event.actor, details: { n: 2, text: TRICKY } }]),
  );
  await w.ctx.auditChain.flushed([event.id]);
  expect(await auditRecords(h, event.id)).toHaveLength(1);
  const unlinked = await h.deps.db.query<{ details: Record<string, unknown> }>(
    `SELECT details FROM audit_logs WHERE event_id IS NULL AND details->>'duplicateOfEventId' = :id`,
    { type: QueryTypes.SELECT, replacements: { id: event.id } },
  );
  expect(unlinked).toEqual([{ details: { n: 2, text: TRICKY, duplicateOfEventId: event.id } }]);
  expect(await verifyAuditChain(h.deps.db)).toMatchObject({ ok: true });
});
