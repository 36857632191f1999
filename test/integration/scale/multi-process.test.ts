import supertest from 'supertest';
import { signIn } from '../../support/browser-session';
import { startHarness, type Harness } from '../../support/harness';
import { freePort } from '../../support/private-redis';
import { RoundRobinProxy } from '../../support/round-robin-proxy';
import { startApiProcess, startWorkerProcess, type ServiceProcess } from '../../support/service-process';
import { TEST_ENV } from '../../support/test-env';
import { auditRecords, serviceCredential, tokenVersion, waitProcessed } from '../workers/worker-harness';

/**
 * Scale-out as deployed: several API processes (the production entry point) behind one port (a
 * round-robin TCP balancer) and several worker processes, all on the same Postgres and Redis (one
 * server, or a Redis Cluster under `npm run test:cluster`). No process holds state of its own: a
 * revocation answered by one API process is refused by every one at once, and events are applied
 * once whichever worker takes them.
 */
const API_PROCESSES = 3;
const WORKER_PROCESSES = 2;

let h: Harness;
let proxy: RoundRobinProxy;
let apiPorts: number[];
const processes: ServiceProcess[] = [];
/** The harness, but talking HTTP to the balancer (helpers like signIn only use `http`). */
let lb: Harness;

beforeAll(async () => {
  h = await startHarness();
  const env = {
    ...TEST_ENV,
    REDIS_URL: h.config.redisUrl,
    REDIS_KEY_PREFIX: h.config.redisKeyPrefix,
    QUEUE_PREFIX: h.config.queuePrefix,
    MAIL_OUTBOX_FILE: h.mailFile,
    OUTBOX_RELAY_DELAY: '1',
    WORKER_CONCURRENCY: '4',
    LOG_LEVEL: 'info',
  };
  apiPorts = await Promise.all(Array.from({ length: API_PROCESSES }, () => freePort()));
  // One at a time: five processes compiling at once would starve the other test files of CPU.
  for (const port of apiPorts) processes.push(await startApiProcess(port, env));
  for (let i = 0; i < WORKER_PROCESSES; i++) processes.push(await startWorkerProcess(env));
  proxy = new RoundRobinProxy(apiPorts);
  await proxy.start();
  lb = { ...h, http: supertest(proxy.url) };
}, 180_000);

afterAll(async () => {
  await Promise.all(processes.map((p) => p.stop()));
  await proxy?.close();
  await h?.close();
}, 60_000);

const direct = (port: number) => supertest(`http://127.0.0.1:${port}`);
const me = (port: number, token: string) => direct(port).get('/me').set('Authorization', `Bearer ${token}`).set('Connection', 'close');

describe(`${API_PROCESSES} API processes behind one port, ${WORKER_PROCESSES} worker processes`, () => {
  it('the balancer spreads connections over every API process, and each one serves the same user', async () => {
    const s = await signIn(lb);
    for (let i = 0; i < API_PROCESSES * 3; i++) {
      const res = await lb.http.get('/me').set('Authorization', `Bearer ${s.accessToken}`).set('Connection', 'close');
      expect(res.status).toBe(200);
    }
    expect(proxy.connections.every((n) => n > 0)).toBe(true);
    for (const port of apiPorts) expect((await me(port, s.accessToken)).status).toBe(200);
  });

  it('a session revoked through one API process is refused by every process at once', async () => {
    for (const revokingPort of apiPorts) {
      const live = await signIn(lb);
      const other = await signIn(lb, { email: live.email });
      for (const port of apiPorts) expect((await me(port, other.accessToken)).status).toBe(200);
      // Revoke `other` on process i; the very next request to each process must refuse it.
      await direct(revokingPort).delete(`/sessions/${other.sessionId}`).set('Authorization', `Bearer ${live.accessToken}`).expect(204);
      const answers = await Promise.all(apiPorts.map((port) => me(port, other.accessToken)));
      expect(answers.map((r) => [r.status, r.body.code])).toEqual(apiPorts.map(() => [401, 'session_revoked']));
      // The revoking session stays valid everywhere (nothing broader was revoked).
      for (const port of apiPorts) expect((await me(port, live.accessToken)).status).toBe(200);
    }
  });

  it('logout-all on one process is refused by every process at once (token version)', async () => {
    const a = await signIn(lb);
    const b = await signIn(lb, { email: a.email });
    await direct(apiPorts[1]!).post('/auth/logout-all').set('Authorization', `Bearer ${a.accessToken}`).expect(204);
    const answers = await Promise.all(apiPorts.flatMap((port) => [me(port, a.accessToken), me(port, b.accessToken)]));
    for (const res of answers) expect(res.status).toBe(401);
  });

  it('events posted through every API process are applied exactly once across the worker processes', async () => {
    const { credential } = await serviceCredential(['events:write']);
    const s = await signIn(lb);
    const before = await tokenVersion(h, s.userId);
    const COUNT = 12;
    // Concurrent posts, round-robined over the API processes; every worker relays and consumes.
    const posted = await Promise.all(
      Array.from({ length: COUNT }, () =>
        lb.http
          .post('/v1/events')
          .set('Authorization', `Bearer ${credential}`)
          .set('Connection', 'close')
          .send({ type: 'user.logged_out_all', data: { userId: s.userId } }),
      ),
    );
    for (const res of posted) expect(res.status).toBe(202);
    const ids = posted.flatMap((res) => res.body.eventIds as string[]);
    expect(new Set(ids).size).toBe(COUNT);
    const statuses = await waitProcessed(h, ids, 60_000);
    expect(Object.values(statuses)).toEqual(ids.map(() => 'processed'));
    // Each event bumped the token version once: not zero times, not twice.
    expect(await tokenVersion(h, s.userId)).toBe(before + COUNT);
    for (const id of ids) expect(await auditRecords(h, id)).toHaveLength(1);
    for (const port of apiPorts) expect((await me(port, s.accessToken)).status).toBe(401);
  }, 90_000);
});
