import type { Sequelize } from 'sequelize';
import type { Config } from '../../../shared/src/config/load-config';
import { createDatabase } from '../../../shared/src/db/connection';
import { migrateToLatest } from '../../../shared/src/db/migrator';
import { EventProducer } from '../../../shared/src/events/producer';
import type { Logger } from '../../../shared/src/logging/logger';
import { createMailTransport, type MailTransport } from '../../../shared/src/mail/mailer';
import { createRedis, whenReady, type RedisClient } from '../../../shared/src/redis/client';
import { createKeys, type Keys } from '../../../shared/src/redis/keys';
import { masters } from '../../../shared/src/redis/nodes';
import { RateLimiter } from '../../../shared/src/security/rate-limiter';
import { MfaChallenges } from './modules/mfa/mfa-challenges';
import { Revocations } from '../../../shared/src/security/revocations';
import { SignatureVerifier } from '../../../shared/src/tokens/access-token';
import { KeyRing } from '../../../shared/src/tokens/key-ring';
import { SIGNING_ALGORITHMS } from '../../../shared/src/tokens/algorithms';
import { PermissionsCache, postgresPermissionsLoader } from '../../../shared/src/verify/permissions';
import { CacheGuard, dropVerificationState } from '../../../shared/src/verify/cache-guard';
import { catchUpPendingChanges } from '../../../shared/src/verify/outage-catch-up';
import { StateCache } from '../../../shared/src/verify/state-cache';
import { StateSync } from '../../../shared/src/verify/state-sync';
import { StateReader } from '../../../shared/src/redis/state-reader';
import { loadAuthState } from '../../../shared/src/verify/state-repository';
import { withTimeout } from '../../../shared/src/util/with-timeout';
import { TokenVerifier } from '../../../shared/src/verify/token-verifier';
import { createMetrics, type Metrics } from './http/metrics';

/** Everything the API's routes need, built once per process (tests build their own). */
export interface ApiDeps {
  config: Config;
  logger: Logger;
  db: Sequelize;
  redis: RedisClient;
  keys: Keys;
  keyRing: KeyRing;
  stateCache: StateCache;
  verifier: TokenVerifier;
  permissions: PermissionsCache;
  revocations: Revocations;
  limiter: RateLimiter;
  mfaChallenges: MfaChallenges;
  producer: EventProducer;
  mailer: MailTransport;
  metrics: Metrics;
  close(): Promise<void>;
}

export async function createDeps(
  config: Config,
  logger: Logger,
  options: { redisUrl?: string; migrate?: boolean } = {},
): Promise<ApiDeps> {
  const db = createDatabase(config);
  if (options.migrate) {
    const applied = await migrateToLatest(db);
    if (applied.length) logger.info({ applied }, 'migrations applied');
  }
  const redisUrl = options.redisUrl ?? config.redisUrl;
  const redis = createRedis(redisUrl, 'request');
  const producerRedis = createRedis(redisUrl, 'request');
  const redisReady = Promise.all([whenReady(redis), whenReady(producerRedis)]);
  const keys = createKeys(config.redisKeyPrefix);
  const keyRing = new KeyRing(db, {
    algorithm: config.jwt.algorithm,
    secret: config.jwt.keyEncryptionSecret,
    verifyWindow: config.jwt.keyVerifyWindow,
    createIfMissing: !config.isProduction,
    noticesFrom: config.databaseUrl,
    logger,
  });
  await keyRing.start();
  const stateReader = StateReader.serves(redisUrl) ? new StateReader(redisUrl) : undefined;
  await Promise.all([redisReady, stateReader?.whenConnected()]);
  // After a lost connection, what this process (or another) failed to write meanwhile is rewritten
  // from the outbox's pending changes before the cache is trusted again (G5).
  const guard = new CacheGuard(redis, keys, logger.child({ module: 'cache-guard' }), {
    catchUp: (since) => catchUpPendingChanges(db, new StateSync(db, new StateCache(redis, keys)), since, () => dropVerificationState(masters(redis), keys)),
  });
  // The API starts serving with Redis validated (and recorded as such, which product backends'
  // kits wait for), unless that takes long: then Postgres serves verification until it is done.
  await withTimeout(guard.validate(), 3_000);
  const stateCache = new StateCache(redis, keys, guard, stateReader);
  const metrics = createMetrics();
  const signatures = new SignatureVerifier({
    getKey: keyRing.getKey,
    issuer: config.jwt.issuer,
    audience: config.jwt.audience,
    // Every published key's JWK names its algorithm, and jose uses a key for that algorithm only:
    // the algorithm is pinned to the key's, so keys of an earlier JWT_ALGORITHM keep verifying.
    algorithms: [...SIGNING_ALGORITHMS],
  });
  const verifier = new TokenVerifier({
    signatures,
    cache: stateCache,
    source: { load: (sub, sid, mid) => loadAuthState(db, sub, sid, mid) },
    onOutcome: (o) => metrics.countVerifyOutcome(o.code, o.origin ?? 'none'),
  });
  const producer = new EventProducer(producerRedis, config.queuePrefix);
  return {
    config,
    logger,
    db,
    redis,
    keys,
    keyRing,
    stateCache,
    verifier,
    permissions: new PermissionsCache(redis, keys, postgresPermissionsLoader(db)),
    revocations: new Revocations(db, stateCache),
    limiter: new RateLimiter(redis, keys, config.rateLimitScale),
    mfaChallenges: new MfaChallenges(redis, keys),
    producer,
    mailer: createMailTransport(config.mail, logger),
    metrics,
    async close() {
      await keyRing.stop();
      await withTimeout(producer.close().catch(() => undefined), 2_000);
      stateReader?.close();
      redis.disconnect();
      producerRedis.disconnect();
      await db.close();
    },
  };
}
