import Redis, { type RedisOptions } from 'ioredis';

/**
 * Redis connections. The request path uses a client that fails fast (no offline queue, one retry),
 * so an outage switches verification to Postgres at once instead of queueing requests.
 */
export function createRedis(url: string, role: 'request' | 'worker' = 'request'): Redis {
  const options: RedisOptions =
    role === 'request'
      ? {
          enableOfflineQueue: false,
          maxRetriesPerRequest: 1,
          connectTimeout: 1_000,
          commandTimeout: 1_000,
          retryStrategy: (times) => Math.min(times * 100, 1_000),
          lazyConnect: false,
          // Commands issued in the same tick (many concurrent requests) share one socket write.
          enableAutoPipelining: true,
        }
      : { maxRetriesPerRequest: null, retryStrategy: (times) => Math.min(times * 200, 2_000) };
  const redis = new Redis(url, options);
  redis.on('error', () => {
    /* reported through readiness and failed commands; an unhandled 'error' would crash the process */
  });
  return redis;
}
