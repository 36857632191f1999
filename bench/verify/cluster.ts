import { LocalRedisCluster } from '../../test/support/redis-cluster';
import { describeMachine } from '../lib/machine';
import { fmt } from '../lib/stats';
import { measureVerify, type VerifyMeasurement } from './run';

/**
 * The verify benchmark on a Redis Cluster beside the same run on one Redis server: no auth and
 * Latchkey's full verification (signature + the one MGET of the user's hash-tagged keys), loaded
 * alternately. The cluster is three masters on loopback ports of this machine (started here, torn
 * down after); the single server is the bench Redis (BENCH_REDIS_URL, default 127.0.0.1:6379).
 *
 *   npx tsx bench/verify/cluster.ts        (BENCH_ROUNDS, BENCH_SECONDS as for `npm run bench`)
 */
async function main(): Promise<void> {
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  const seconds = Number(process.env.BENCH_SECONDS ?? 10);
  const variants = ['none', 'latchkey'] as const;
  process.stderr.write('single Redis server\n');
  const single = await measureVerify({ rounds, seconds, variants });
  const cluster = await LocalRedisCluster.start(3);
  let onCluster: VerifyMeasurement;
  try {
    process.stderr.write(`Redis Cluster ${cluster.url}\n`);
    onCluster = await measureVerify({ rounds, seconds, variants, redisUrl: cluster.url });
  } finally {
    await cluster.destroy();
  }
  const row = (label: string, m: VerifyMeasurement) =>
    `| ${label} | ${fmt(m.rps('none'), 0)} | ${fmt(m.rps('latchkey'), 0)} | ${fmt(m.rps('latchkey') / m.rps('none'))} | ${m.p99('latchkey')} | ${fmt(m.rss.latchkey / 2 ** 20, 0)} |`;
  const lines = [
    '### verify on a Redis Cluster',
    '',
    `Machine: ${describeMachine()}. Command: \`npx tsx bench/verify/cluster.ts\` (${rounds} rounds × ${seconds} s, 50 connections, server pinned to core 1, autocannon to core 0; the cluster's three redis-server processes share the same two cores).`,
    '',
    '| Redis | no auth req/s | Latchkey req/s | Latchkey / no auth | Latchkey p99 ms | Latchkey RSS MB |',
    '|---|---|---|---|---|---|',
    row('one server (127.0.0.1:6379)', single),
    row('Redis Cluster, 3 masters (redis+cluster://)', onCluster),
    '',
    `Cluster / single, Latchkey req/s: **${fmt(onCluster.rps('latchkey') / single.rps('latchkey'))}**.`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  process.exit(0);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
