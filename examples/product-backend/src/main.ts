import { createRedis, EventProducer } from '../../../shared/src/kit';
import { createProductBackend } from './app';

/** Runs the example product backend against a running Latchkey (see README.md for the variables). */
function main(): void {
  const env = process.env;
  const required = ['LATCHKEY_URL', 'JWT_ISSUER', 'JWT_AUDIENCE'].filter((name) => !env[name]);
  if (required.length) throw new Error(`missing environment variables: ${required.join(', ')}`);
  const redisUrl = env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  // One server or a Redis Cluster (`redis+cluster://host:port,host:port`), fail-fast clients.
  const redis = createRedis(redisUrl);
  const producer = new EventProducer(createRedis(redisUrl), env.QUEUE_PREFIX ?? '{lkq}');
  const app = createProductBackend({
    latchkeyUrl: env.LATCHKEY_URL!.replace(/\/$/, ''),
    redis,
    issuer: env.JWT_ISSUER!,
    audience: env.JWT_AUDIENCE!,
    keyPrefix: env.REDIS_KEY_PREFIX ?? 'lk',
    introspectionCredential: env.LATCHKEY_SERVICE_CREDENTIAL,
    producer,
  });
  const server = app.listen(Number(env.PORT ?? 4000), () => console.log(`reports backend on :${Number(env.PORT ?? 4000)}`));
  process.on('SIGTERM', () => {
    server.close();
    void producer.close().finally(() => redis.disconnect());
  });
}

main();
