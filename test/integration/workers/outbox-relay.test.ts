import { QueryTypes } from 'sequelize';
import { createLogger } from '../../../shared/src/logging/logger';
import { buildEvent, insertOutboxEvent } from '../../../shared/src/events/outbox';
import { claimEvent } from '../../../workers/src/event-rows';
import { relayPendingEvents } from '../../../workers/src/outbox-relay';
import { createOwnDatabase } from '../../support/own-database';
import { startHarness, type Harness } from '../../support/harness';

// A database of its own: no other test file's relay may sweep these rows first.
let own: Awaited<ReturnType<typeof createOwnDatabase>>;
let h: Harness;
beforeAll(async () => {
  own = await createOwnDatabase('relay');
  h = await startHarness({ DATABASE_URL: own.url });
});
afterAll(async () => {
  await h.close();
  await own.drop().catch(() => undefined);
});

const logger = createLogger({ level: 'silent', service: 'test' });
const loggedOutAll = () =>
  buildEvent({ type: 'user.logged_out_all', source: 'service:test', actor: { type: 'service', id: 'test' }, data: { userId: crypto.randomUUID() } });

it('enqueues pending events that never reached the queue, but not one a delivery has claimed', async () => {
  const { db } = h.deps;
  const lost = loggedOutAll();
  const claimed = loggedOutAll();
  await db.transaction(async (t) => {
    await insertOutboxEvent(db, t, lost);
    await insertOutboxEvent(db, t, claimed);
  });
  // A delivery claimed this one (its record waits to be chained): it reached a worker already.
  await db.transaction(async (t) => expect(await claimEvent(db, t, claimed)).toMatchObject({ claimed: true }));

  expect(await relayPendingEvents(db, h.deps.producer, logger, 0)).toBe(1);
  const jobs = await h.deps.producer.queue.getJobs(['waiting']);
  expect(jobs.map((j) => j.id)).toEqual([lost.id]);
  // Enqueued once: not again before the re-enqueue delay.
  expect(await relayPendingEvents(db, h.deps.producer, logger, 0)).toBe(0);
});

it('a stored row that no longer matches its schema is not relayed: it is rejected with its one event.rejected record', async () => {
  const { db } = h.deps;
  const event = loggedOutAll();
  await db.transaction((t) => insertOutboxEvent(db, t, event));
  // As if changed in place, or stored by an older schema: a value no event may carry.
  await db.query('UPDATE events SET data = :data WHERE id = :id', {
    replacements: { id: event.id, data: JSON.stringify({ userId: 'not-a-uuid', token: 'tok-secret-value' }) },
  });

  expect(await relayPendingEvents(db, h.deps.producer, logger, 0)).toBe(0);
  expect(await h.deps.producer.queue.getJob(event.id)).toBeUndefined();
  const records = await db.query<{ type: string; details: Record<string, unknown> }>('SELECT type, details FROM audit_logs WHERE event_id = :id', {
    type: QueryTypes.SELECT,
    replacements: { id: event.id },
  });
  expect(records).toEqual([
    {
      type: 'event.rejected',
      details: {
        jobId: event.id,
        jobName: 'user.logged_out_all',
        issues: [
          { path: 'data.userId', code: 'invalid_format' },
          { path: 'data', code: 'unrecognized_keys' },
        ],
      },
    },
  ]);
  expect(JSON.stringify(records)).not.toContain('tok-secret-value');
  const [row] = await db.query<{ status: string }>('SELECT status FROM events WHERE id = :id', { type: QueryTypes.SELECT, replacements: { id: event.id } });
  expect(row!.status).toBe('failed');
  // Swept again (past the re-enqueue delay): still one record.
  await db.query('UPDATE events SET enqueued_at = NULL WHERE id = :id', { replacements: { id: event.id } });
  expect(await relayPendingEvents(db, h.deps.producer, logger, 0)).toBe(0);
  expect(await db.query('SELECT 1 FROM audit_logs WHERE event_id = :id', { type: QueryTypes.SELECT, replacements: { id: event.id } })).toHaveLength(1);
});
