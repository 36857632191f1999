import { POSTGRES_DOWN_SECONDS } from './support/fault-env';
import { bearer, call, isProblem, login, me, refreshWith, type Reply } from './support/http';
import { createUsers, serviceCredential, sleep, until } from './support/fixtures';
import { FAULT_PASSWORD } from './support/fault-env';
import { FaultRig, type Api } from './support/rig';
import type { ServiceProcess } from './support/processes';

/**
 * R4: Postgres unreachable for 10 s (a TCP proxy in front of it is cut: open connections reset,
 * new ones refused). Where Postgres is needed the answer is a 503 problem+json; no process
 * crashes; no revoked or unknown state is accepted; everything recovers on its own.
 */
let rig: FaultRig;
let api: Api;
let worker: ServiceProcess;

beforeAll(async () => {
  rig = await FaultRig.start('r4', { postgresProxy: true });
  [api, worker] = await Promise.all([rig.api(), rig.worker()]);
});
afterAll(async () => {
  await rig?.close();
});

it('R4: Postgres cut for 10 s: 503 problem+json where it is needed, no crash, no wrong accept, recovery', async () => {
  const credential = await serviceCredential(rig.db, ['events:write', 'introspect']);
  const [a, b, c] = await createUsers(rig.db, 3, 'r4');
  const valid = await login(api.url, a!.email, FAULT_PASSWORD);
  const revoked = await login(api.url, b!.email, FAULT_PASSWORD);
  const uncached = await login(api.url, c!.email, FAULT_PASSWORD);
  for (const s of [valid, revoked, uncached]) expect((await me(api.url, s.accessToken)).status).toBe(200);
  expect((await call(api.url, 'POST', '/auth/logout', { headers: bearer(revoked.accessToken) })).status).toBe(204);
  expect((await me(api.url, revoked.accessToken)).body.code).toBe('session_revoked');
  const svc = { authorization: `Bearer ${credential}` };
  const apiPid = api.proc.pid;
  const workerPid = worker.pid;

  await rig.proxy!.cut();
  // The third user's verification state is gone from Redis while Postgres is away: unknown, so 503.
  for (const key of (await rig.redis.cli('--scan', '--pattern', `${rig.prefix}:{u:${uncached.userId}}:*`)).split('\n').filter(Boolean)) {
    await rig.redis.cli('DEL', key);
  }

  const counts = { requests: 0, wrongAccepts: 0, status503: 0, notProblem: 0, serverErrorsOther: 0, connectionErrors: 0 };
  const wrong: string[] = [];
  const check = (what: string, r: Reply, allowed: number[]) => {
    counts.requests++;
    if (r.status === 503) counts.status503++;
    if (r.status >= 500 && r.status !== 503) counts.serverErrorsOther++;
    if (r.status >= 400 && !isProblem(r)) counts.notProblem++;
    if (!allowed.includes(r.status)) wrong.push(`${what}: ${r.status} ${r.text.slice(0, 200)}`);
  };
  const deadline = Date.now() + POSTGRES_DOWN_SECONDS * 1000;
  for (let round = 0; Date.now() < deadline && round < 500; round++) {
    const probes: Array<[string, Promise<Reply>, number[]]> = [
      ['me valid', me(api.url, valid.accessToken), [200, 503]],
      ['me revoked', me(api.url, revoked.accessToken), [401, 503]],
      ['me uncached', me(api.url, uncached.accessToken), [503]],
      ['login', call(api.url, 'POST', '/auth/login', { body: { email: a!.email, password: FAULT_PASSWORD } }), [503]],
      ['refresh', refreshWith(api.url, valid), [503]],
      ['events', call(api.url, 'POST', '/v1/events', { headers: svc, body: { type: 'user.logged_out_all', data: { userId: a!.id } } }), [503]],
      ['introspect revoked', call(api.url, 'POST', '/v1/introspect', { headers: svc, body: { token: revoked.accessToken } }), [503]],
      ['logout-all', call(api.url, 'POST', '/auth/logout-all', { headers: bearer(uncached.accessToken) }), [503]],
      ['healthz', call(api.url, 'GET', '/healthz'), [200]],
      ['readyz', call(api.url, 'GET', '/readyz'), [503]],
    ];
    for (const [what, p, allowed] of probes) {
      try {
        const r = await p;
        if ((what === 'me revoked' || what === 'me uncached' || what === 'introspect revoked') && r.status === 200) counts.wrongAccepts++;
        check(what, r, allowed);
      } catch (err) {
        counts.connectionErrors++;
        wrong.push(`${what}: ${String(err)}`);
      }
    }
    await sleep(100);
  }
  await rig.proxy!.restore();
  console.log(
    `R4 down_s=${POSTGRES_DOWN_SECONDS} requests=${counts.requests} status503=${counts.status503} wrong_accepts=${counts.wrongAccepts} ` +
      `other_5xx=${counts.serverErrorsOther} not_problem_json=${counts.notProblem} connection_errors=${counts.connectionErrors} ` +
      `api_restarted=${api.proc.pid !== apiPid || !api.proc.alive} worker_restarted=${worker.pid !== workerPid || !worker.alive}`,
  );


  // Automatic recovery: sign-in, events and verification work again without restarting anything.
  const again = await until(async () => {
    const r = await call(api.url, 'POST', '/auth/login', { body: { email: a!.email, password: FAULT_PASSWORD } });
    return r.status === 200 ? r : undefined;
  }, 'sign-in after Postgres is back', 30_000);
  expect(again.status).toBe(200);
  const posted = await call(api.url, 'POST', '/v1/events', { headers: svc, body: { type: 'user.logged_out_all', data: { userId: c!.id } } });
  expect(posted.status).toBe(202);
  const eventId = posted.body.eventIds[0];
  await until(async () => (await rig.db.query("SELECT 1 FROM events WHERE id = $1 AND status = 'processed'", [eventId])).rowCount, 'event processed', 30_000);
  expect((await me(api.url, valid.accessToken)).status).toBe(200);
  expect((await me(api.url, revoked.accessToken)).body.code).toBe('session_revoked');
  expect(['session_revoked', 'token_version_stale']).toContain((await me(api.url, uncached.accessToken)).body.code);

  expect(wrong.slice(0, 20)).toEqual([]);
  expect(counts.wrongAccepts).toBe(0);
  expect(counts.serverErrorsOther).toBe(0);
  expect(counts.notProblem).toBe(0);
  expect(counts.connectionErrors).toBe(0);
  expect(counts.status503).toBeGreaterThan(0);
  expect(api.proc.alive && worker.alive).toBe(true);
});
