import { randomUUID } from 'node:crypto';
import { QueryTypes } from 'sequelize';
import { up } from '../../../migrations/007-requeue-exhausted-transient';
import { TRANSIENT_FAILURE } from '../../../workers/src/event-rows';
import { startHarness, type Harness } from '../../support/harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());

async function insertEvent(status: string, error: string | null): Promise<string> {
  const id = randomUUID();
  await h.deps.db.query(
    `INSERT INTO events (id, type, version, occurred_at, source, actor_type, actor_id, data, status, error, enqueued_at)
     VALUES (:id, 'user.logged_out_all', 1, now(), 'service:test', 'service', 'test', :data, :status, :error, now())`,
    { replacements: { id, data: JSON.stringify({ userId: randomUUID() }), status, error } },
  );
  return id;
}

it('puts events an earlier worker left failed after transient failures back in the relay\'s hands, and nothing else', async () => {
  const stranded = await insertEvent('failed', TRANSIENT_FAILURE);
  const rejected = await insertEvent('failed', 'validation_failed: the event does not match its schema');
  await up({ context: { query: (sql: string) => h.deps.db.query(sql) }, name: '007', path: '' } as never);
  const rows = await h.deps.db.query<{ id: string; status: string; enqueued_at: Date | null }>(
    'SELECT id, status, enqueued_at FROM events WHERE id IN (:ids)',
    { type: QueryTypes.SELECT, replacements: { ids: [stranded, rejected] } },
  );
  const byId = Object.fromEntries(rows.map((r) => [r.id, r]));
  expect(byId[stranded]).toMatchObject({ status: 'pending', enqueued_at: null });
  expect(byId[rejected]).toMatchObject({ status: 'failed' });
});
