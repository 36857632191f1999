import { QueryTypes } from 'sequelize';
import { verifyAuditChain } from '../../../shared/src/audit/audit-verify';
import { stageAuditRecords } from '../../../shared/src/audit/audit-writer';
import { buildEvent, insertOutboxEvent } from '../../../shared/src/events/outbox';
import type { SecurityEvent } from '../../../shared/src/events/schemas';
import { claimEvent } from '../../../workers/src/event-rows';
import type { HandlerContext } from '../../../workers/src/handler';
import { processJob } from '../../../workers/src/process-event';
import { signIn } from '../../support/browser-session';
import type { Harness } from '../../support/harness';
import { addMember, createOrganization, serviceCredential } from '../organizations/fixtures';
import { auditRecords, jobOf, startHandlerRig, tokenVersion } from './worker-harness';

/**
 * Deliveries a worker process holds at once are applied in shared transactions
 * (workers/src/apply-batches.ts). No BullMQ worker or relay runs here: the deliveries are this
 * file's alone, so what is asserted about them cannot be blurred by another delivery.
 */
let h: Harness;
let ctx: HandlerContext;
let close: () => Promise<void>;
beforeAll(async () => {
  ({ h, ctx, close } = await startHandlerRig());
});
afterAll(() => close());

const loggedOutAll = (userId: string) =>
  buildEvent({ type: 'user.logged_out_all', source: 'service:test', actor: { type: 'service', id: 'test' }, data: { userId } });

/** Stores the events' rows, as POST /v1/events does before it answers. */
async function store(events: SecurityEvent[]): Promise<void> {
  await h.deps.db.transaction(async (t) => {
    for (const e of events) await insertOutboxEvent(h.deps.db, t, e);
  });
}

const eventStatus = async (id: string) =>
  (await h.deps.db.query<{ status: string }>('SELECT status FROM events WHERE id = :id', { type: QueryTypes.SELECT, replacements: { id } }))[0]?.status;

/** Each event's claim time: `now()` of the transaction that claimed it. */
async function claimTimes(events: SecurityEvent[]): Promise<string[]> {
  const rows = await h.deps.db.query<{ at: string }>('SELECT processed_at::text AS at FROM events WHERE id IN (:ids)', {
    type: QueryTypes.SELECT,
    replacements: { ids: events.map((e) => e.id) },
  });
  return rows.map((r) => r.at);
}

it('deliveries held at once share one transaction; a second delivery of an event in the same batch is a duplicate', async () => {
  const users = await Promise.all(Array.from({ length: 6 }, () => signIn(h)));
  const before = await Promise.all(users.map((u) => tokenVersion(h, u.userId)));
  const events = Array.from({ length: 24 }, (_, i) => loggedOutAll(users[i % users.length]!.userId));
  await store(events);

  const outcomes = await Promise.all([...events, events[0]!, events[5]!].map((e) => processJob(jobOf(e), ctx)));
  await ctx.auditChain.flushed();

  expect(outcomes.filter((o) => o === 'applied')).toHaveLength(24);
  expect(outcomes.filter((o) => o === 'duplicate')).toHaveLength(2);
  // One claim time for all 24: they were claimed by one transaction.
  expect(new Set(await claimTimes(events)).size).toBe(1);
  const after = await Promise.all(users.map((u) => tokenVersion(h, u.userId)));
  expect(after.map((v, i) => v - before[i]!)).toEqual(users.map(() => 4));
  for (const e of events) expect(await auditRecords(h, e.id)).toHaveLength(1);
  expect(await verifyAuditChain(h.deps.db)).toMatchObject({ ok: true });
});

it('an event its handler refuses does not take its batch down: the others apply once each, it alone is rejected', async () => {
  const credential = await serviceCredential(['organizations:write']);
  const orgId = await createOrganization(h, credential, 'Batch refusal');
  const member = await signIn(h);
  await addMember(h, credential, orgId, member.userId, 'member');
  const users = await Promise.all(Array.from({ length: 5 }, () => signIn(h)));
  const before = await Promise.all(users.map((u) => tokenVersion(h, u.userId)));
  const good = users.map((u) => loggedOutAll(u.userId));
  const refused = buildEvent({
    type: 'membership.role_changed',
    source: 'service:test',
    actor: { type: 'service', id: 'test' },
    data: { organizationId: orgId, userId: member.userId, role: 'no-such-role' },
  });
  const events = [...good.slice(0, 2), refused, ...good.slice(2)];
  await store(events);

  const settled = await Promise.allSettled(events.map((e) => processJob(jobOf(e), ctx)));
  await ctx.auditChain.flushed();

  expect(settled.map((s) => (s.status === 'fulfilled' ? s.value : 'rejected'))).toEqual(['applied', 'applied', 'rejected', 'applied', 'applied', 'applied']);
  // The batch rolled back and each event was applied on its own: every version bumped exactly once.
  const after = await Promise.all(users.map((u) => tokenVersion(h, u.userId)));
  expect(after.map((v, i) => v - before[i]!)).toEqual(users.map(() => 1));
  for (const e of good) expect((await auditRecords(h, e.id)).map((r) => r.type)).toEqual(['user.logged_out_all']);
  expect((await auditRecords(h, refused.id)).map((r) => r.type)).toEqual(['event.rejected']);
  const [{ status }] = (await h.deps.db.query('SELECT status FROM events WHERE id = :id', { type: QueryTypes.SELECT, replacements: { id: refused.id } })) as [
    { status: string },
  ];
  expect(status).toBe('failed');
  expect(await verifyAuditChain(h.deps.db)).toMatchObject({ ok: true });
});

it('a staged record is chained (its event processed) only once released after the Redis write-through, or once it is old', async () => {
  const s = await signIn(h);
  const event = loggedOutAll(s.userId);
  await store([event]);
  // What a delivery commits before its write-through: the claim and the staged record.
  await h.deps.db.transaction(async (t) => {
    expect(await claimEvent(h.deps.db, t, event)).toMatchObject({ claimed: true });
    await stageAuditRecords(h.deps.db, t, [{ eventId: event.id, type: event.type, severity: 'info', occurredAt: event.occurredAt, actor: event.actor }]);
  });
  await ctx.auditChain.flushed();
  expect(await auditRecords(h, event.id)).toHaveLength(0);
  expect(await eventStatus(event.id)).toBe('pending');
  await ctx.auditChain.flushed([event.id]);
  expect(await auditRecords(h, event.id)).toHaveLength(1);
  expect(await eventStatus(event.id)).toBe('processed');
});

it('event ids in upper case (valid uuids) are claimed like any other, alone and in a batch', async () => {
  const users = await Promise.all([signIn(h), signIn(h)]);
  const before = await Promise.all(users.map((u) => tokenVersion(h, u.userId)));
  const events = users.map((u) => {
    const e = loggedOutAll(u.userId);
    return { ...e, id: e.id.toUpperCase() };
  });
  await store(events);
  expect(await Promise.all(events.map((e) => processJob(jobOf(e), ctx)))).toEqual(['applied', 'applied']);
  expect(await processJob(jobOf(events[0]!), ctx)).toBe('duplicate');
  const after = await Promise.all(users.map((u) => tokenVersion(h, u.userId)));
  expect(after.map((v, i) => v - before[i]!)).toEqual([1, 1]);
  // Their audit records verify: hashed with the id as stored (Postgres keeps uuids in lower case).
  await ctx.auditChain.flushed();
  const ids = await h.deps.db.query<{ id: string }>('SELECT id::text AS id FROM audit_logs WHERE event_id IN (:ids) ORDER BY id', {
    type: QueryTypes.SELECT,
    replacements: { ids: events.map((e) => e.id.toLowerCase()) },
  });
  expect(ids).toHaveLength(2);
  expect(await verifyAuditChain(h.deps.db, { fromId: ids[0]!.id, toId: ids[1]!.id })).toMatchObject({ ok: true });
});
