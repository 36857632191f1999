import { ConfigError, loadConfig } from '../../../shared/src/config/load-config';
import { createRedis, isCluster } from '../../../shared/src/redis/client';
import { clusterUrlFromNodes, parseRedisTarget } from '../../../shared/src/redis/redis-target';

describe('Redis target (one server or a Redis Cluster, chosen by configuration)', () => {
  it('reads the redis+cluster:// form with credentials, TLS and IPv6', () => {
    expect(parseRedisTarget('redis://127.0.0.1:6379/2')).toEqual({ kind: 'single', url: 'redis://127.0.0.1:6379/2' });
    expect(parseRedisTarget('redis+cluster://a:7000,b.example:7001/')).toEqual({
      kind: 'cluster',
      nodes: [{ host: 'a', port: 7000 }, { host: 'b.example', port: 7001 }],
      username: undefined,
      password: undefined,
      tls: false,
    });
    expect(parseRedisTarget('rediss+cluster://default:p%40ss@[::1]:7000')).toMatchObject({
      nodes: [{ host: '::1', port: 7000 }],
      username: 'default',
      password: 'p@ss',
      tls: true,
    });
    expect(() => parseRedisTarget('redis+cluster://a:7000,nope')).toThrow(/nope/);
    expect(() => parseRedisTarget('redis+cluster://')).toThrow(/at least one/);
  });

  it('REDIS_CLUSTER_NODES wins, with the credentials and TLS of REDIS_URL', () => {
    expect(clusterUrlFromNodes('a:1, b:2')).toBe('redis+cluster://a:1,b:2');
    expect(clusterUrlFromNodes('a:1', 'rediss://u:secret@x:6379')).toBe('rediss+cluster://u:secret@a:1');
    const c = loadConfig({ REDIS_CLUSTER_NODES: '10.0.0.1:6379,10.0.0.2:6379' });
    expect(c.redisUrl).toBe('redis+cluster://10.0.0.1:6379,10.0.0.2:6379');
    expect(c.redisCluster).toBe(true);
    expect(loadConfig({ REDIS_URL: 'redis+cluster://a:1' }).redisCluster).toBe(true);
    expect(loadConfig({}).redisCluster).toBe(false);
  });

  it('names a bad node list at startup', () => {
    expect(() => loadConfig({ REDIS_CLUSTER_NODES: 'a:1,b' })).toThrow(ConfigError);
    expect(() => loadConfig({ REDIS_URL: 'redis+cluster://a:99999' })).toThrow(/REDIS_URL/);
  });

  it('createRedis builds a Cluster client for the cluster form, a plain one otherwise (no connection needed)', () => {
    const cluster = createRedis('redis+cluster://127.0.0.1:1,127.0.0.1:2', 'worker');
    const single = createRedis('redis://127.0.0.1:1', 'request');
    try {
      expect(isCluster(cluster)).toBe(true);
      expect(isCluster(single)).toBe(false);
      // BullMQ requires maxRetriesPerRequest: null on a worker's (cluster) connection.
      expect((cluster as import('ioredis').Cluster).options.redisOptions?.maxRetriesPerRequest).toBeNull();
    } finally {
      cluster.disconnect();
      single.disconnect();
    }
  });
});
