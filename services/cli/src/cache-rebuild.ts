import { isUuid } from '../../../shared/src/validation/storable';
import { createRedis } from '../../../shared/src/redis/client';
import { createKeys } from '../../../shared/src/redis/keys';
import { StateCache } from '../../../shared/src/verify/state-cache';
import { StateSync } from '../../../shared/src/verify/state-sync';
import type { CliContext } from './commands';

/**
 * `cache rebuild [--user ID | --organization ID | --all]`: rewrites the Redis verification state
 * from Postgres directly (no queue needed, so it also works while workers are down). Writes never
 * lower a version, so running it during traffic is safe.
 */
export async function rebuildCache(ctx: CliContext): Promise<number> {
  const { user, organization, all } = ctx.flags;
  const chosen = [user, organization, all].filter((v) => v !== undefined);
  if (chosen.length !== 1) throw new Error('give exactly one of --user ID, --organization ID, --all');
  const id = typeof user === 'string' ? user : typeof organization === 'string' ? organization : undefined;
  if ((user !== undefined || organization !== undefined) && !isUuid(id)) throw new Error('the id must be a uuid');
  const redis = createRedis(ctx.config.redisUrl, 'worker');
  try {
    const sync = new StateSync(ctx.db, new StateCache(redis, createKeys(ctx.config.redisKeyPrefix)));
    if (user !== undefined) {
      await sync.user(id!);
      ctx.out(`rebuilt user ${id}`);
    } else if (organization !== undefined) {
      await sync.organization(id!);
      ctx.out(`rebuilt organization ${id}`);
    } else {
      ctx.out(`rebuilt ${await sync.all()} user(s)`);
    }
    return 0;
  } finally {
    redis.disconnect();
  }
}
