import type Redis from 'ioredis';
import { isCluster, type RedisClient } from './client';

/**
 * Commands that concern a server rather than a key (INFO, SCAN) answer for one node only. On a
 * Redis Cluster they must go to every master; these helpers do that, and fall back to the one
 * server otherwise. Keys found are deleted with single-key commands, so no command ever spans
 * two slots (a multi-key DEL/UNLINK across slots is refused by a cluster, even on one node).
 */

/** Every master: the cluster's masters as the client knows them now, or the one server. */
export function masters(redis: RedisClient): Redis[] {
  return isCluster(redis) ? redis.nodes('master') : [redis];
}

/** PINGs every master (a cluster answers only if each one does); rejects when none is known. */
export async function pingAll(redis: RedisClient): Promise<void> {
  const nodes = masters(redis);
  if (nodes.length === 0) throw new Error('no Redis master connected');
  await Promise.all(nodes.map((node) => node.ping()));
}

/** The `run_id` of a server (changes on every restart). */
export async function runIdOf(node: Redis): Promise<string | undefined> {
  return runIdIn(await node.info('server'));
}

/** The `run_id` named in the text of `INFO server`. */
export function runIdIn(info: string): string | undefined {
  return /run_id:(\w+)/.exec(info)?.[1];
}

/**
 * Deletes every key matching `pattern` on one node (SCAN there, UNLINK each key found through the
 * same node, pipelined per batch). Returns how many existed.
 */
export async function unlinkMatchingOnNode(node: Redis, pattern: string, count = 1000): Promise<number> {
  let cursor = '0';
  let dropped = 0;
  do {
    const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', count);
    cursor = next;
    if (keys.length) {
      const pipeline = node.pipeline();
      for (const key of keys) pipeline.unlink(key);
      for (const [err, n] of (await pipeline.exec()) ?? []) {
        if (err) throw err;
        dropped += Number(n);
      }
    }
  } while (cursor !== '0');
  return dropped;
}

/** Deletes every key matching `pattern` on every master (test cleanup, cache drops, CLI). */
export async function unlinkMatching(redis: RedisClient, pattern: string): Promise<number> {
  const counts = await Promise.all(masters(redis).map((node) => unlinkMatchingOnNode(node, pattern)));
  return counts.reduce((a, b) => a + b, 0);
}

/** Every key matching `pattern`, from every master (for tests and diagnostics, not request paths). */
export async function scanKeys(redis: RedisClient, pattern: string): Promise<string[]> {
  const found: string[] = [];
  for (const node of masters(redis)) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      found.push(...keys);
    } while (cursor !== '0');
  }
  return [...new Set(found)];
}

/** Deletes the given keys one command each (safe whatever slots they are in). */
export async function unlinkKeys(redis: RedisClient, keys: string[]): Promise<number> {
  const counts = await Promise.all(keys.map((key) => redis.unlink(key)));
  return counts.reduce((a, b) => a + b, 0);
}
