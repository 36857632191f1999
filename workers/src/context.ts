import type { Config } from '../../shared/src/config/load-config';
import { createDatabase } from '../../shared/src/db/connection';
import type { Logger } from '../../shared/src/logging/logger';
import { createMailTransport, type MailTransport } from '../../shared/src/mail/mailer';
import { createRedis } from '../../shared/src/redis/client';
import { createKeys } from '../../shared/src/redis/keys';
import { Revocations } from '../../shared/src/security/revocations';
import { StateCache } from '../../shared/src/verify/state-cache';
import { StateSync } from '../../shared/src/verify/state-sync';
import { eventChainAppender } from './event-rows';
import type { HandlerContext } from './handler';

/**
 * Builds what handlers use, once per worker process. The Redis client is a worker one (commands
 * wait for a reconnect instead of failing), because a job that cannot reach Redis should wait,
 * not fail and burn a retry.
 */
export function createHandlerContext(config: Config, logger: Logger, options: { redisUrl?: string; mailer?: MailTransport } = {}): HandlerContext & {
  close(): Promise<void>;
} {
  const db = createDatabase(config);
  const redis = createRedis(options.redisUrl ?? config.redisUrl, 'worker');
  const keys = createKeys(config.redisKeyPrefix);
  const cache = new StateCache(redis, keys);
  const auditChain = eventChainAppender(db);
  return {
    config,
    db,
    redis,
    keys,
    cache,
    stateSync: new StateSync(db, cache),
    revocations: new Revocations(db, cache),
    mailer: options.mailer ?? createMailTransport(config.mail, logger),
    logger,
    auditChain,
    async close() {
      await auditChain.idle();
      redis.disconnect();
      await db.close();
    },
  };
}
