import { FAULT_PASSWORD } from './support/fault-env';
import { bearer, call, login, me } from './support/http';
import { createOrganization, createUsers, serviceCredential, until } from './support/fixtures';
import { FaultRig, type Api } from './support/rig';

/**
 * R6: two API processes and two worker processes on one Redis and one Postgres. A revocation
 * answered by one API is refused by the other on the very next request; events posted to both
 * APIs and consumed by both workers take effect exactly once.
 */
let rig: FaultRig;
let apis: Api[];

beforeAll(async () => {
  rig = await FaultRig.start('r6');
  const started = await Promise.all([rig.api(), rig.api(), rig.worker(), rig.worker()]);
  apis = started.slice(0, 2) as Api[];
});
afterAll(async () => {
  await rig?.close();
});

it('R6: a revocation answered by one API is refused by the other at once; events take effect once', async () => {
  const [a, b] = apis as [Api, Api];
  const users = await createUsers(rig.db, 60, 'r6');
  let revocations = 0;
  let wrongAccepts = 0;
  // Each kind of synchronous revocation, answered by one API, probed at once on the other.
  for (const [i, u] of users.slice(0, 30).entries()) {
    const [here, there] = i % 2 ? [a, b] : [b, a];
    const s = await login(here.url, u.email, FAULT_PASSWORD);
    expect((await me(there.url, s.accessToken)).status).toBe(200);
    const kind = i % 3;
    const r =
      kind === 0
        ? await call(here.url, 'POST', '/auth/logout', { headers: bearer(s.accessToken) })
        : kind === 1
          ? await call(here.url, 'POST', '/auth/logout-all', { headers: bearer(s.accessToken) })
          : await call(here.url, 'DELETE', `/sessions/${s.sessionId}`, { headers: bearer(s.accessToken) });
    expect(r.status).toBe(204);
    revocations++;
    const probe = await me(there.url, s.accessToken);
    if (probe.status === 200) wrongAccepts++;
  }

  // Events through both APIs, consumed by both workers.
  const credential = await serviceCredential(rig.db, ['events:write']);
  const org = await createOrganization(rig.db, users.slice(30).map((u) => u.id));
  const expected = new Map<string, number>();
  const eventIds: string[] = [];
  let n = 0;
  await Promise.all(
    Array.from({ length: 4 }, async (_, lane) => {
      for (let batch = 0; batch < 5; batch++) {
        const events = Array.from({ length: 100 }, () => {
          const m = org.memberships[n++ % org.memberships.length]!;
          expected.set(m.id, (expected.get(m.id) ?? 0) + 1);
          return { type: 'membership.role_changed', data: { organizationId: org.organizationId, userId: m.userId, role: n % 2 ? 'viewer' : 'member' } };
        });
        const r = await call(apis[lane % 2]!.url, 'POST', '/v1/events', { headers: { authorization: `Bearer ${credential}` }, body: { events } });
        expect(r.status).toBe(202);
        eventIds.push(...r.body.eventIds);
      }
    }),
  );
  await until(
    async () => Number((await rig.db.query("SELECT count(*) AS n FROM events WHERE id = ANY($1) AND status = 'processed'", [eventIds])).rows[0].n) === eventIds.length,
    'events processed',
    120_000,
  );
  const audit = await rig.db.query('SELECT count(*)::int AS n FROM audit_logs WHERE event_id = ANY($1)', [eventIds]);
  const versions = await rig.db.query<{ id: string; permissions_version: number }>('SELECT id, permissions_version FROM memberships WHERE id = ANY($1)', [
    org.memberships.map((m) => m.id),
  ]);
  let duplicates = 0;
  let lost = 0;
  for (const row of versions.rows) {
    const diff = row.permissions_version - (1 + (expected.get(row.id) ?? 0));
    if (diff > 0) duplicates += diff;
    else lost -= diff;
  }
  console.log(
    `R6 apis=2 workers=2 revocations=${revocations} wrong_accepts=${wrongAccepts} sent=${eventIds.length} processed=${eventIds.length} ` +
      `audit=${audit.rows[0].n} duplicates=${duplicates} lost=${lost}`,
  );
  expect(wrongAccepts).toBe(0);
  expect(audit.rows[0].n).toBe(eventIds.length);
  expect(duplicates).toBe(0);
  expect(lost).toBe(0);
});
