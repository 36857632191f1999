import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import Redis from 'ioredis';
import { evidenceDir } from './fault-env';

/**
 * What the G7 scan reads at the end of the fault suite: every secret the run used, every error
 * body it received, every Redis value (job payloads included) and every process log line.
 */
export type SecretKind = 'password' | 'access_token' | 'refresh_token' | 'reset_token' | 'service_credential' | 'mfa_secret' | 'csrf_token';

const file = (name: string) => {
  mkdirSync(evidenceDir(), { recursive: true });
  return path.join(evidenceDir(), name);
};

export const SECRETS_FILE = () => file('secrets.ndjson');
export const ERROR_BODIES_FILE = () => file('error-bodies.ndjson');
export const LOG_DIR = () => {
  const dir = file('logs');
  mkdirSync(dir, { recursive: true });
  return dir;
};
export const REDIS_DIR = () => {
  const dir = file('redis');
  mkdirSync(dir, { recursive: true });
  return dir;
};
export const PIDS_FILE = () => file('pids');

const seen = new Set<string>();

/** Records a secret the run used; the scan asserts it appears nowhere it must not. */
export function recordSecret(kind: SecretKind, value: string | undefined): void {
  if (!value || seen.has(value)) return;
  seen.add(value);
  appendFileSync(SECRETS_FILE(), `${JSON.stringify({ kind, value })}\n`);
}

/** Records an error body as the client received it. */
export function recordErrorBody(where: string, status: number, text: string): void {
  appendFileSync(ERROR_BODIES_FILE(), `${JSON.stringify({ where, status, text })}\n`);
}

/**
 * Dumps every key of a (private) Redis, BullMQ job hashes with their payloads included, before the
 * test destroys it. Bounded: at most 200,000 keys.
 */
export async function dumpRedis(url: string, label: string): Promise<number> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1, connectTimeout: 1_000, lazyConnect: true });
  redis.on('error', () => undefined);
  const out = path.join(REDIS_DIR(), `${label}.ndjson`);
  let count = 0;
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'COUNT', 1000);
      cursor = next;
      const lines: string[] = [];
      for (const key of keys) {
        const type = await redis.type(key);
        let value: unknown;
        if (type === 'string') value = await redis.get(key);
        else if (type === 'hash') value = await redis.hgetall(key);
        else if (type === 'list') value = await redis.lrange(key, 0, -1);
        else if (type === 'set') value = await redis.smembers(key);
        else if (type === 'zset') value = await redis.zrange(key, 0, -1);
        else if (type === 'stream') value = await redis.xrange(key, '-', '+');
        lines.push(JSON.stringify({ key, type, value }));
        count++;
      }
      if (lines.length) appendFileSync(out, `${lines.join('\n')}\n`);
    } while (cursor !== '0' && count < 200_000);
  } finally {
    redis.disconnect();
  }
  return count;
}
