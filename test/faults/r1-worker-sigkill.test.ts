import { call } from './support/http';
import { createOrganization, createUsers, serviceCredential, sleep, until } from './support/fixtures';
import { FaultRig, type Api } from './support/rig';
import type { ServiceProcess } from './support/processes';

/**
 * R1: the worker is SIGKILLed three times while 10,000 events flow through POST /v1/events.
 * Every event is a `membership.role_changed` (alternating roles) on one of 200 memberships, so its
 * effect is countable: each membership's permissions_version must end at exactly 1 + its events.
 */
const EVENTS = 10_000;
const BATCH = 100;
const ORGS = 20;
const PER_ORG = 10;

let rig: FaultRig;
let api: Api;
let worker: ServiceProcess;

beforeAll(async () => {
  rig = await FaultRig.start('r1');
  [api, worker] = await Promise.all([rig.api(), rig.worker()]);
});
afterAll(async () => {
  await rig?.close();
});

it('R1: 10,000 events, worker SIGKILLed three times: all processed once, exactly one audit record each', async () => {
  const credential = await serviceCredential(rig.db, ['events:write']);
  const users = await createUsers(rig.db, ORGS * PER_ORG, 'r1');
  const memberships: Array<{ id: string; userId: string; organizationId: string }> = [];
  for (let o = 0; o < ORGS; o++) {
    const org = await createOrganization(rig.db, users.slice(o * PER_ORG, (o + 1) * PER_ORG).map((u) => u.id));
    memberships.push(...org.memberships.map((m) => ({ ...m, organizationId: org.organizationId })));
  }
  const expected = new Map<string, number>();
  const eventIds: string[] = [];
  const processed = async () =>
    Number((await rig.db.query('SELECT count(*) AS n FROM events WHERE id = ANY($1) AND status <> $2', [eventIds, 'pending'])).rows[0].n);

  // Sender: 100 batches of 100, at most 4 requests in flight; every answer must be 202.
  let sent = 0;
  const sendAll = async () => {
    const batches = Array.from({ length: EVENTS / BATCH }, (_, b) => b);
    const next = async (): Promise<void> => {
      const b = batches.shift();
      if (b === undefined) return;
      const events = Array.from({ length: BATCH }, (_, i) => {
        const n = b * BATCH + i;
        const m = memberships[n % memberships.length]!;
        expected.set(m.id, (expected.get(m.id) ?? 0) + 1);
        return { type: 'membership.role_changed', data: { organizationId: m.organizationId, userId: m.userId, role: n % 2 ? 'viewer' : 'member' } };
      });
      const res = await call(api.url, 'POST', '/v1/events', { headers: { authorization: `Bearer ${credential}` }, body: { events } });
      if (res.status !== 202) throw new Error(`POST /v1/events answered ${res.status}: ${res.text}`);
      eventIds.push(...res.body.eventIds);
      sent += events.length;
      await next();
    };
    await Promise.all([next(), next(), next(), next()]);
  };

  // Killer: three SIGKILLs, each once the processed count has moved on since the last restart.
  let kills = 0;
  const killThrice = async () => {
    for (const threshold of [1_500, 4_500, 7_500]) {
      await until(async () => (await processed()) >= threshold, `${threshold} events processed`, 120_000);
      await worker.kill('SIGKILL');
      kills++;
      await sleep(200);
      worker = await rig.worker();
    }
  };

  const started = Date.now();
  await Promise.all([sendAll(), killThrice()]);
  expect(sent).toBe(EVENTS);
  await until(async () => (await processed()) === EVENTS, 'every event processed', 180_000);
  const seconds = (Date.now() - started) / 1000;

  const statuses = await rig.db.query('SELECT status, count(*)::int AS n FROM events WHERE id = ANY($1) GROUP BY status', [eventIds]);
  const audit = await rig.db.query(
    `SELECT count(*)::int AS n, count(DISTINCT event_id)::int AS distinct_ids FROM audit_logs WHERE event_id = ANY($1)`,
    [eventIds],
  );
  // A second record for an event already in the chain would be stored unlinked (event_id null,
  // details.duplicateOfEventId set): counted apart, it must not exist either.
  const unlinked = await rig.db.query(`SELECT count(*)::int AS n FROM audit_logs WHERE details->>'duplicateOfEventId' = ANY($1::text[])`, [eventIds]);
  const versions = await rig.db.query<{ id: string; permissions_version: number }>(
    'SELECT id, permissions_version FROM memberships WHERE id = ANY($1)',
    [memberships.map((m) => m.id)],
  );
  let duplicates = 0;
  let missing = 0;
  for (const row of versions.rows) {
    const diff = row.permissions_version - (1 + expected.get(row.id)!);
    if (diff > 0) duplicates += diff;
    if (diff < 0) missing -= diff;
  }
  const processedCount = statuses.rows.find((r) => r.status === 'processed')?.n ?? 0;
  const auditCount = audit.rows[0].n;
  console.log(
    `R1 sent=${sent} processed=${processedCount} audit=${auditCount} duplicates=${duplicates + (auditCount - audit.rows[0].distinct_ids)} unlinked=${unlinked.rows[0].n} ` +
      `lost=${missing} kills=${kills} seconds=${seconds.toFixed(1)} statuses=${JSON.stringify(statuses.rows)}`,
  );
  expect(kills).toBe(3);
  expect(processedCount).toBe(EVENTS);
  expect(auditCount).toBe(EVENTS);
  expect(audit.rows[0].distinct_ids).toBe(EVENTS);
  expect(unlinked.rows[0].n).toBe(0);
  expect(duplicates).toBe(0);
  expect(missing).toBe(0);
  expect(worker.alive).toBe(true);
  expect(api.proc.alive).toBe(true);
});
