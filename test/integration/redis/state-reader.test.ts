import Redis from 'ioredis';
import { createKeys } from '../../../shared/src/redis/keys';
import { StateReader } from '../../../shared/src/redis/state-reader';
import { StateCache } from '../../../shared/src/verify/state-cache';
import { PrivateRedis } from '../../support/private-redis';

/** shared/src/redis/state-reader.ts against a redis-server of this file's own (faults included). */
let redis: PrivateRedis;
const readers: StateReader[] = [];
const reader = (url = redis.url, timeoutMs?: number) => {
  const r = new StateReader(url, timeoutMs);
  readers.push(r);
  return r;
};
beforeAll(async () => {
  redis = await PrivateRedis.start();
});
afterEach(() => readers.splice(0).forEach((r) => r.close()));
afterAll(() => redis.destroy());

const runIdOf = async () => /run_id:(\w+)/.exec(await redis.cli('INFO', 'server'))![1];
const until = async (check: () => Promise<boolean> | boolean) => {
  for (let i = 0; i < 100 && !(await check()); i++) await new Promise((r) => setTimeout(r, 50));
};

it('reads many keys in one MGET, null where missing, and knows which server it reads', async () => {
  await redis.cli('MSET', 'lk:a', '1|x', 'lk:b', 'é|ü');
  const r = reader();
  expect(await r.whenConnected()).toBe(true);
  expect(r.runId).toBe(await runIdOf());
  const reads = await Promise.all(Array.from({ length: 200 }, (_, i) => r.mget(i % 2 ? ['lk:a', 'lk:missing', 'lk:b'] : ['lk:b'])));
  expect(reads[0]).toEqual(['é|ü']);
  expect(reads[1]).toEqual(['1|x', null, 'é|ü']);
  expect(reads.filter((v) => v.length === 3)).toHaveLength(100);
});

it('signs in and selects the database of its URL; a wrong password never connects and every read fails', async () => {
  await redis.cli('CONFIG', 'SET', 'requirepass', 'p@ss word');
  const other = new Redis({ port: redis.port, password: 'p@ss word', db: 3 });
  try {
    await other.set('lk:in-db-3', 'three');
    const r = reader(`redis://:${encodeURIComponent('p@ss word')}@127.0.0.1:${redis.port}/3`);
    expect(await r.whenConnected()).toBe(true);
    expect(await r.mget(['lk:in-db-3'])).toEqual(['three']);

    const wrong = reader(`redis://:wrong@127.0.0.1:${redis.port}`);
    expect(await wrong.whenConnected(500)).toBe(false);
    expect(wrong.runId).toBeUndefined();
    await expect(wrong.mget(['lk:a'])).rejects.toThrow(/not connected/);
  } finally {
    await other.config('SET', 'requirepass', '');
    other.disconnect();
  }
});

it('fails fast when its connection is killed, and reconnects by itself', async () => {
  const r = reader();
  await r.whenConnected();
  await redis.cli('CLIENT', 'KILL', 'TYPE', 'normal');
  await until(() => r.runId === undefined);
  await expect(r.mget(['lk:a'])).rejects.toThrow(/not connected|closed/);
  expect(await r.whenConnected()).toBe(true);
  expect(await r.mget(['lk:a'])).toHaveLength(1);
});

it('gives up on a server that stops answering after its timeout, failing the reads waiting, then recovers', async () => {
  const r = reader(redis.url, 300);
  await r.whenConnected();
  const pid = Number(/process_id:(\d+)/.exec(await redis.cli('INFO', 'server'))![1]);
  process.kill(pid, 'SIGSTOP');
  try {
    const started = Date.now();
    const reads = await Promise.allSettled([r.mget(['lk:a']), r.mget(['lk:b'])]);
    expect(reads.map((s) => s.status)).toEqual(['rejected', 'rejected']);
    expect(String((reads[0] as PromiseRejectedResult).reason)).toMatch(/timed out/);
    expect(Date.now() - started).toBeLessThan(2_000);
  } finally {
    process.kill(pid, 'SIGCONT');
  }
  expect(await r.whenConnected()).toBe(true);
  expect(await r.mget(['lk:a'])).toHaveLength(1);
});

it('after a restart it reads the new server, whose state the cache refuses until the guard has validated it', async () => {
  const r = reader();
  await r.whenConnected();
  const before = r.runId;
  await redis.stop();
  await redis.start();
  await until(() => r.runId !== undefined && r.runId !== before);
  expect(r.runId).toBe(await runIdOf());

  const keys = createKeys('lk-reader-test');
  const ioredis = new Redis({ port: redis.port });
  let validated = [before];
  const cache = new StateCache(ioredis, keys, { trusted: true, trusts: (id) => id !== undefined && validated.includes(id) }, r);
  try {
    await expect(cache.read('u', 's')).rejects.toThrow(/validated server/);
    validated = [r.runId!];
    expect(await cache.read('u', 's')).toEqual({ user: undefined, session: undefined, membership: undefined });
  } finally {
    ioredis.disconnect();
  }
});
