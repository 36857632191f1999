import { isCluster } from '../../../shared/src/redis/client';
import { scanKeys } from '../../../shared/src/redis/nodes';
import { isClusterUrl } from '../../../shared/src/redis/redis-target';
import { signIn } from '../../support/browser-session';
import { TEST_ENV } from '../../support/test-env';
import { postEvents, serviceCredential, startRig, waitProcessed, type WorkerRig } from '../workers/worker-harness';

/** Redis Cluster's key slot (CRC16/XMODEM of the hash tag, or of the whole key, mod 16384). */
function slotOf(key: string): number {
  const open = key.indexOf('{');
  if (open >= 0) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) key = key.slice(open + 1, close);
  }
  let crc = 0;
  for (const byte of Buffer.from(key)) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16384;
}

let rig: WorkerRig;
beforeAll(async () => {
  rig = await startRig();
});
afterAll(() => rig.close());

describe('keys and slots (what makes Latchkey run unchanged on a Redis Cluster)', () => {
  it('the suite talks to the Redis that TEST_REDIS_URL names (a Cluster under npm run test:cluster)', async () => {
    expect(isCluster(rig.h.deps.redis)).toBe(isClusterUrl(TEST_ENV.REDIS_URL!));
    // Set by the test:cluster runner, so a lost TEST_REDIS_URL cannot pass silently on one server.
    if (process.env.LATCHKEY_EXPECT_CLUSTER === '1') expect(isCluster(rig.h.deps.redis)).toBe(true);
    expect(await rig.h.deps.redis.ping()).toBe('PONG');
  });

  it("every key of one user shares one slot, every queue key shares the queue's slot", async () => {
    const { h } = rig;
    const { credential } = await serviceCredential(['events:write']);
    const a = await signIn(h);
    const b = await signIn(h, { email: a.email });
    expect((await h.http.get('/me').set('Authorization', `Bearer ${b.accessToken}`)).status).toBe(200);
    const ids = await postEvents(h, credential, { type: 'user.logged_out_all', data: { userId: a.userId } });
    await waitProcessed(h, ids);

    const userKeys = await scanKeys(h.deps.redis, `${h.prefix}:{u:${a.userId}}:*`);
    expect(userKeys.length).toBeGreaterThanOrEqual(3); // the user and both sessions
    expect(new Set(userKeys.map(slotOf)).size).toBe(1);
    // The verification read of a request is one MGET of such keys: it must be a single-slot command.
    const read = [h.deps.keys.user(a.userId), h.deps.keys.session(a.userId, a.sessionId), h.deps.keys.membership(a.userId, 'm')];
    expect(new Set(read.map(slotOf)).size).toBe(1);

    const queueKeys = await scanKeys(h.deps.redis, `${h.config.queuePrefix}:*`);
    expect(queueKeys.length).toBeGreaterThan(0);
    expect(new Set(queueKeys.map(slotOf))).toEqual(new Set([slotOf(h.config.queuePrefix)]));
  });
});
