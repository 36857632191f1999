import { copyFileSync } from 'node:fs';
import path from 'node:path';
import { signIn, type BrowserSession } from '../../support/browser-session';
import { startHarness, type Harness } from '../../support/harness';
import { freePort, PrivateRedis } from '../../support/private-redis';
import { LocalRedisCluster, type ClusterNodeProcess } from '../../support/redis-cluster';

/**
 * R5 on a Redis Cluster: one master of three restarts from an old snapshot. Its per-user keys say
 * "live" for sessions revoked since; the CacheGuard must notice by that master's run id, refuse to
 * trust Redis until it dropped that master's user state, and leave the other masters' state alone.
 */
let cluster: LocalRedisCluster;
let h: Harness;
beforeAll(async () => {
  cluster = await LocalRedisCluster.start(3);
  h = await startHarness({}, { redisUrl: cluster.url });
}, 60_000);
afterAll(async () => {
  await h?.close();
  await cluster?.destroy();
});

const me = (token: string) => h.http.get('/me').set('Authorization', `Bearer ${token}`);

async function runIds(): Promise<string[]> {
  const infos = await Promise.all(cluster.nodes.map((n) => n.cli('INFO', 'server')));
  return infos.map((i) => /run_id:(\w+)/.exec(i)![1]!).sort();
}

/** Until the recorded run ids are the cluster's current ones (the guard validated every master). */
async function untilValidated(): Promise<void> {
  const expected = (await runIds()).join(',');
  for (let i = 0; i < 200; i++) {
    const recorded = await h.deps.redis.get(h.deps.keys.validatedInstance()).catch(() => null);
    if (recorded === expected) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the cache guard never validated the restarted cluster');
}

describe('a Redis Cluster master restored from an older snapshot', () => {
  it('refuses the stale state of that master, rebuilds it from Postgres, and keeps the other masters', async () => {
    // Users until at least two live on the master that will restart and one lives elsewhere.
    const users: Array<{ s: BrowserSession; node: ClusterNodeProcess }> = [];
    let target: ClusterNodeProcess | undefined;
    for (let i = 0; i < 30; i++) {
      const s = await signIn(h);
      expect((await me(s.accessToken)).status).toBe(200);
      const node = await cluster.nodeOf(h.deps.keys.user(s.userId));
      target ??= node;
      users.push({ s, node });
      const onTarget = users.filter((u) => u.node === target).length;
      if (onTarget >= 2 && users.some((u) => u.node !== target)) break;
    }
    const [revoked, valid] = users.filter((u) => u.node === target).map((u) => u.s);
    const elsewhere = users.find((u) => u.node !== target)!.s;
    expect(revoked && valid && elsewhere).toBeTruthy();

    await target!.snapshot(); // the master's backup: every session live
    await h.http.post('/auth/logout').set('Authorization', `Bearer ${revoked!.accessToken}`).expect(204);
    await h.http.post('/auth/logout').set('Authorization', `Bearer ${elsewhere.accessToken}`).expect(204);
    expect((await me(revoked!.accessToken)).body.code).toBe('session_revoked');

    await target!.stop();
    // While one master is down (the cluster refuses every command), verification reads Postgres.
    expect((await me(revoked!.accessToken)).body.code).toBe('session_revoked');
    expect((await me(valid!.accessToken)).status).toBe(200);
    // Readiness checks every master: one down is not ready.
    const notReady = await h.http.get('/readyz');
    expect([notReady.status, notReady.body.code, notReady.body.checks.redis]).toEqual([503, 'service_unavailable', false]);
    expect(notReady.headers['content-type']).toMatch(/^application\/problem\+json/);
    // The backup really holds the stale "live" state (read from a copy, by a server of its own).
    const copy = new PrivateRedis(await freePort());
    copyFileSync(path.join(target!.dir, 'dump.rdb'), path.join(copy.dir, 'dump.rdb'));
    await copy.start();
    expect(await copy.cli('GET', h.deps.keys.session(revoked!.userId, revoked!.sessionId))).toMatch(/^0\|live/);
    await copy.destroy();
    await target!.start(); // loads the old dump.rdb and its nodes.conf: same slots, new run id
    await cluster.waitHealthy();

    // From the first request on, never an accept of the stale state.
    for (let i = 0; i < 20; i++) {
      expect((await me(revoked!.accessToken)).status).toBe(401);
      expect((await me(valid!.accessToken)).status).toBe(200);
    }
    await untilValidated();
    expect((await h.http.get('/readyz')).body.checks.redis).toBe(true);
    expect((await me(revoked!.accessToken)).body.code).toBe('session_revoked');
    expect((await me(valid!.accessToken)).status).toBe(200);
    expect(await h.deps.redis.get(h.deps.keys.session(revoked!.userId, revoked!.sessionId))).toMatch(/^1\|revoked/);
    // The masters that did not restart kept their state: the other user's revoked session was not
    // dropped (nothing asked for it since), so it was not needlessly rebuilt from Postgres.
    expect(await h.deps.redis.get(h.deps.keys.session(elsewhere.userId, elsewhere.sessionId))).toMatch(/^1\|revoked/);
  }, 90_000);
});
