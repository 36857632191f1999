import { FAULT_PASSWORD, REDIS_DOWN_SECONDS } from './support/fault-env';
import { bearer, call, login, me, type Signed } from './support/http';
import { createOrganization, createUsers, serviceCredential, sleep, until } from './support/fixtures';
import { FaultRig, type Api } from './support/rig';
import type { ServiceProcess } from './support/processes';

/**
 * R3: the (private) Redis is stopped (SIGKILL, nothing saved) for REDIS_DOWN_SECONDS while events
 * are posted and tokens verified, then started again empty. Every POST /v1/events is answered 202
 * (the outbox), verification reads Postgres with 0 wrong answers, and once Redis is back every
 * event is processed exactly once in effect (permissions_version = 1 + events per membership).
 * 30 s, as the target says (FAULTS_REDIS_DOWN_SECONDS shortens it while iterating).
 */
let rig: FaultRig;
let api: Api;
let worker: ServiceProcess;

beforeAll(async () => {
  rig = await FaultRig.start('r3');
  [api, worker] = await Promise.all([rig.api(), rig.worker()]);
});
afterAll(async () => {
  await rig?.close();
});

it(`R3: Redis down ${REDIS_DOWN_SECONDS} s: every event answered 202 and processed once, 0 wrong verification answers`, async () => {
  const credential = await serviceCredential(rig.db, ['events:write']);
  const users = await createUsers(rig.db, 40, 'r3');
  const org = await createOrganization(rig.db, users.slice(0, 20).map((u) => u.id));
  const sessions: Signed[] = [];
  for (const u of users.slice(20)) sessions.push(await login(api.url, u.email, FAULT_PASSWORD));
  const revoked = new Set<string>();
  for (const s of sessions.slice(0, 10)) {
    expect((await call(api.url, 'POST', '/auth/logout', { headers: bearer(s.accessToken) })).status).toBe(204);
    revoked.add(s.accessToken);
  }

  const expected = new Map<string, number>();
  const eventIds: string[] = [];
  const counts = { posts: 0, posts202: 0, events: 0, probes: 0, wrongAnswers: 0, whileDown: 0 };
  const wrong: string[] = [];
  let n = 0;
  const post = async () => {
    const events = Array.from({ length: 20 }, () => {
      const m = org.memberships[n++ % org.memberships.length]!;
      expected.set(m.id, (expected.get(m.id) ?? 0) + 1);
      return { type: 'membership.role_changed', data: { organizationId: org.organizationId, userId: m.userId, role: n % 2 ? 'viewer' : 'member' } };
    });
    const r = await call(api.url, 'POST', '/v1/events', { headers: { authorization: `Bearer ${credential}` }, body: { events } });
    counts.posts++;
    if (r.status === 202) {
      counts.posts202++;
      eventIds.push(...r.body.eventIds);
      counts.events += events.length;
    } else {
      wrong.push(`POST /v1/events ${r.status} ${r.text.slice(0, 200)}`);
    }
  };
  const probe = async (down: boolean) => {
    for (const s of sessions) {
      const r = await me(api.url, s.accessToken);
      counts.probes++;
      if (down) counts.whileDown++;
      const want = revoked.has(s.accessToken) ? 401 : 200;
      if (r.status !== want) {
        counts.wrongAnswers++;
        wrong.push(`me ${want}: ${r.status} ${r.body?.code}`);
      }
    }
  };

  await post();
  await probe(false);
  await rig.redis.stop();
  const downUntil = Date.now() + REDIS_DOWN_SECONDS * 1000;
  for (let i = 0; Date.now() < downUntil && i < 1_000; i++) {
    await Promise.all([post(), probe(true)]);
    await sleep(300);
  }
  await rig.redis.start(); // empty: nothing was saved
  await post();
  await probe(false);

  const processed = async () =>
    Number((await rig.db.query("SELECT count(*) AS n FROM events WHERE id = ANY($1) AND status = 'processed'", [eventIds])).rows[0].n);
  await until(async () => (await processed()) === eventIds.length, 'every event processed after Redis is back', 120_000);
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
  await probe(false);

  console.log(
    `R3 down_s=${REDIS_DOWN_SECONDS} posts=${counts.posts} answered_202=${counts.posts202} sent=${counts.events} processed=${await processed()} ` +
      `audit=${audit.rows[0].n} duplicates=${duplicates} lost=${lost} probes=${counts.probes} probes_while_down=${counts.whileDown} wrong_answers=${counts.wrongAnswers}`,
  );
  expect(wrong.slice(0, 10)).toEqual([]);
  expect(counts.posts202).toBe(counts.posts);
  expect(counts.whileDown).toBeGreaterThan(100);
  expect(audit.rows[0].n).toBe(eventIds.length);
  expect(duplicates).toBe(0);
  expect(lost).toBe(0);
  expect(api.proc.alive && worker.alive).toBe(true);
});
