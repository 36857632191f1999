/**
 * Where Latchkey's Redis is: one server (`redis://` / `rediss://` URL, handed to ioredis as is) or a
 * Redis Cluster, written as `redis+cluster://[user:password@]host:port,host:port[/]` (`rediss+cluster`
 * for TLS). The cluster form is a plain string so that everything that passes a Redis URL around
 * (config, tests' TEST_REDIS_URL, bench's BENCH_REDIS_URL, CLI) carries a cluster unchanged.
 */
export type RedisTarget =
  | { kind: 'single'; url: string }
  | { kind: 'cluster'; nodes: Array<{ host: string; port: number }>; username?: string; password?: string; tls: boolean };

const CLUSTER_SCHEME = /^(rediss?)\+cluster:\/\/(.*)$/i;

/** True for the `redis+cluster://` / `rediss+cluster://` form. */
export function isClusterUrl(url: string): boolean {
  return CLUSTER_SCHEME.test(url);
}

/** Parses `host:port,host:port` (IPv6 as `[::1]:7000`); throws naming the bad entry. */
export function parseNodeList(list: string): Array<{ host: string; port: number }> {
  const nodes = list
    .split(',')
    .map((n) => n.trim())
    .filter(Boolean)
    .map((entry) => {
      const m = /^(\[[0-9a-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/i.exec(entry);
      const port = m ? Number(m[2]) : NaN;
      if (!m || port < 1 || port > 65535) throw new Error(`bad cluster node "${entry}": expected host:port`);
      return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
    });
  if (nodes.length === 0) throw new Error('a cluster needs at least one host:port');
  return nodes;
}

/** Reads a Redis URL in either form. */
export function parseRedisTarget(url: string): RedisTarget {
  const m = CLUSTER_SCHEME.exec(url);
  if (!m) return { kind: 'single', url };
  let rest = m[2]!.replace(/\/$/, '');
  let username: string | undefined;
  let password: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    const userinfo = rest.slice(0, at);
    rest = rest.slice(at + 1);
    const colon = userinfo.indexOf(':');
    username = decodeURIComponent(colon >= 0 ? userinfo.slice(0, colon) : userinfo) || undefined;
    password = colon >= 0 ? decodeURIComponent(userinfo.slice(colon + 1)) || undefined : undefined;
  }
  return { kind: 'cluster', nodes: parseNodeList(rest), username, password, tls: m[1]!.toLowerCase() === 'rediss' };
}

/**
 * The URL for `REDIS_CLUSTER_NODES`: the nodes given there, with the scheme (TLS or not) and the
 * credentials of `REDIS_URL` when it has any, so a password is configured in one place.
 */
export function clusterUrlFromNodes(nodes: string, redisUrl?: string): string {
  parseNodeList(nodes);
  let scheme = 'redis';
  let userinfo = '';
  if (redisUrl) {
    const cluster = CLUSTER_SCHEME.exec(redisUrl);
    scheme = (cluster?.[1] ?? (/^rediss:/i.test(redisUrl) ? 'rediss' : 'redis')).toLowerCase();
    const auth = /^[a-z+]+:\/\/([^@/]*)@/i.exec(redisUrl);
    if (auth) userinfo = `${auth[1]}@`;
  }
  return `${scheme}+cluster://${userinfo}${nodes.split(',').map((n) => n.trim()).filter(Boolean).join(',')}`;
}

