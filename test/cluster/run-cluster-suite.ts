import { spawn } from 'node:child_process';
import path from 'node:path';
import { LocalRedisCluster } from '../support/redis-cluster';

/**
 * `npm run test:cluster`: the integration suite's verification, refresh, events (real worker,
 * several worker and API processes) and fault cases against a real Redis Cluster of three masters
 * started here on loopback ports (redis-server --cluster-enabled, redis-cli --cluster create), then
 * torn down. Every test reaches Redis through TEST_REDIS_URL=redis+cluster://..., so the same files
 * that pass on one server must pass on a cluster: hash-tagged keys, braced BullMQ prefix, no
 * multi-key command across slots, every master scanned and validated.
 *
 * Extra arguments go to jest (e.g. a single file). TEST_CLUSTER_DATABASE_URL picks the database
 * (default latchkey_test_cluster, recreated by the jest global setup, never the main suite's).
 */
export const CLUSTER_SUITE = [
  // Verification: sign-in, the one-round-trip state read, revocation, product-backend kit, MFA (MULTI on one key).
  'test/integration/auth/login.test.ts',
  'test/integration/auth/revocation.test.ts',
  'test/integration/kit/kit.test.ts',
  'test/integration/abuse/mfa.test.ts',
  // Refresh: rotation, reuse detection, grace.
  'test/integration/auth/refresh.test.ts',
  // Events through BullMQ on the cluster with the real worker.
  'test/integration/workers/user-events.test.ts',
  'test/integration/workers/delivery.test.ts',
  'test/integration/organizations/worker-e2e.test.ts',
  // Scale-out: the suite really is on the cluster; keys per user and per queue on one slot;
  // several API processes behind one port and several worker processes.
  'test/integration/scale/key-slots.test.ts',
  'test/integration/scale/multi-process.test.ts',
  // Faults: a master down, then restored from an old snapshot (its own cluster).
  'test/integration/verify/cluster-restart.test.ts',
];

async function main(): Promise<number> {
  const root = path.resolve(__dirname, '../..');
  const started = Date.now();
  const cluster = await LocalRedisCluster.start(3);
  process.stderr.write(`[test:cluster] Redis Cluster of 3 masters up in ${Date.now() - started} ms: ${cluster.url}\n`);
  const stop = () => void cluster.destroy().finally(() => process.exit(130));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    const args = process.argv.slice(2);
    const files = args.some((a) => !a.startsWith('-')) ? [] : CLUSTER_SUITE;
    const child = spawn(process.execPath, [require.resolve('jest/bin/jest'), '--runTestsByPath', ...files, ...args], {
      cwd: root,
      stdio: 'inherit',
      env: {
        ...process.env,
        TEST_REDIS_URL: cluster.url,
        LATCHKEY_EXPECT_CLUSTER: '1',
        TEST_DATABASE_URL: process.env.TEST_CLUSTER_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/latchkey_test_cluster',
      },
    });
    return await new Promise<number>((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0))));
  } finally {
    await cluster.destroy();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`[test:cluster] ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
