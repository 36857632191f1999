import { randomUUID } from 'node:crypto';
import { buildEvent, EventProducer, type SecurityEvent } from '../../../shared/src/kit';
import { createRedis } from '../../../shared/src/redis/client';
import { TEST_ENV } from '../../support/test-env';

// The kit's producer on the real Redis, with a queue prefix of its own.
const redis = createRedis(TEST_ENV.REDIS_URL!);
const producer = new EventProducer(redis, `{t${randomUUID().slice(0, 8)}}`);
afterAll(async () => {
  await producer.queue.obliterate({ force: true }).catch(() => undefined);
  await producer.close();
  redis.disconnect();
});

it('refuses a batch with an invalid event with validation_failed, enqueueing none of it', async () => {
  const good = buildEvent({ type: 'user.logged_out_all', source: 'service:test', actor: { type: 'service', id: 'test' }, data: { userId: randomUUID() } });
  const bad = { ...good, id: randomUUID(), data: { userId: 'not-a-uuid', refreshToken: 'rt-secret-value' } } as unknown as SecurityEvent;
  const refusal = await producer.publish([good, bad]).catch((err: unknown) => err);
  expect(refusal).toMatchObject({
    name: 'AppError',
    code: 'validation_failed',
    status: 400,
    publicDetail: 'Invalid security event: event 1: data.userId (invalid_format), data (unrecognized_keys)',
  });
  expect(JSON.stringify(refusal)).not.toContain('rt-secret-value');
  expect(await producer.queue.getJobCounts('waiting', 'delayed', 'failed')).toEqual({ waiting: 0, delayed: 0, failed: 0 });

  await producer.publish(good);
  expect((await producer.queue.getJob(good.id))?.name).toBe('user.logged_out_all');
});
