import Redis, { Cluster, type ClusterOptions, type RedisOptions } from 'ioredis';
import { parseRedisTarget } from './redis-target';

/** A connection to Latchkey's Redis: one server or a Redis Cluster (chosen by the URL's form). */
export type RedisClient = Redis | Cluster;

/** True when the client talks to a Redis Cluster. */
export function isCluster(redis: RedisClient): redis is Cluster {
  return (redis as Cluster).isCluster === true;
}

/**
 * Redis connections, the one factory every process uses (API, producer, worker, BullMQ, CLI, bench).
 * `url` is a `redis://` URL or the `redis+cluster://host:port,host:port` form (see redis-target.ts).
 *
 * - `request`: fails fast (no offline queue, one retry, 1 s timeouts), so an outage switches
 *   verification to Postgres at once instead of queueing requests.
 * - `worker`: commands wait for a reconnect (`maxRetriesPerRequest: null`, which BullMQ requires
 *   for its blocking connections), because a job that cannot reach Redis should wait, not fail.
 */
export function createRedis(url: string, role: 'request' | 'worker' = 'request'): RedisClient {
  const target = parseRedisTarget(url);
  const nodeOptions: RedisOptions =
    role === 'request'
      ? { maxRetriesPerRequest: 1, connectTimeout: 1_000, commandTimeout: 1_000 }
      : { maxRetriesPerRequest: null };
  let redis: RedisClient;
  if (target.kind === 'single') {
    redis = new Redis(target.url, {
      ...nodeOptions,
      ...(role === 'request'
        ? {
            enableOfflineQueue: false,
            retryStrategy: (times: number) => Math.min(times * 100, 1_000),
            lazyConnect: false,
            // Commands issued in the same tick (many concurrent requests) share one socket write.
            enableAutoPipelining: true,
          }
        : { retryStrategy: (times: number) => Math.min(times * 200, 2_000) }),
    });
  } else {
    const options: ClusterOptions = {
      redisOptions: {
        ...nodeOptions,
        username: target.username,
        password: target.password,
        ...(target.tls ? { tls: {} } : {}),
      },
      clusterRetryStrategy: (times: number) => Math.min(times * (role === 'request' ? 100 : 200), role === 'request' ? 1_000 : 2_000),
      // A master that went away and came back (same address) is reconnected, not only rediscovered.
      clusterNodeRetryStrategy: (times: number) => Math.min(times * 100, 1_000),
      slotsRefreshTimeout: 2_000,
      // `worker` commands wait while the client (re)discovers the slots; `request` commands fail at
      // once while the cluster is not ready (and within the node commandTimeout once sent).
      enableOfflineQueue: role === 'worker',
      retryDelayOnClusterDown: 200,
      retryDelayOnFailover: 200,
      retryDelayOnTryAgain: 100,
      maxRedirections: 8,
      // Per node: commands of one tick that go to the same master share one write.
      enableAutoPipelining: role === 'request',
    };
    redis = new Cluster(target.nodes, options);
  }
  redis.on('error', () => {
    /* reported through readiness and failed commands; an unhandled 'error' would crash the process */
  });
  if (isCluster(redis)) redis.on('node error', () => undefined);
  return redis;
}

/**
 * Resolves true once the client is ready, false on its first error or after `timeoutMs`: a process
 * starting waits for Redis (a cluster needs a moment to learn its slots) but never blocks on it;
 * without it, it runs degraded as during an outage (Postgres verification, memory rate limits).
 */
export function whenReady(redis: RedisClient, timeoutMs = 3_000): Promise<boolean> {
  if (redis.status === 'ready') return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(timer);
      redis.off('ready', onReady);
      redis.off('error', onError);
      resolve(ok);
    };
    const onReady = () => done(true);
    const onError = () => done(false);
    const timer = setTimeout(() => done(false), timeoutMs);
    redis.once('ready', onReady);
    redis.once('error', onError);
  });
}
