import type Redis from 'ioredis';
import type { Logger } from '../logging/logger';
import type { Keys } from '../redis/keys';

/**
 * Decides whether the verification state in Redis may be trusted (G4, G5).
 *
 * Redis restarted from an older snapshot holds lower versions and live sessions that were revoked
 * since: nothing in the values themselves can tell. The server's run id can: every (re)connection
 * compares it with the run id recorded in Redis when its state was last validated. A different
 * one (or none) means a restarted server, so every per-user key is dropped (missing keys are read
 * from Postgres, never trusted blindly) before the cache is trusted again. From the moment a
 * connection drops until that check is done, `trusted` is false and verification reads Postgres.
 */
export class CacheGuard {
  private trustedRunId: string | undefined;
  private checking: Promise<void> | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly logger?: Logger,
  ) {
    redis.on('close', () => {
      this.trustedRunId = undefined;
    });
    redis.on('ready', () => void this.validate());
    if (redis.status === 'ready') void this.validate();
  }

  get trusted(): boolean {
    return this.trustedRunId !== undefined;
  }

  /** Validates (or re-validates) the connected server; concurrent calls share one check. */
  validate(): Promise<void> {
    this.checking ??= this.check().finally(() => {
      this.checking = undefined;
    });
    return this.checking;
  }

  private async check(): Promise<void> {
    try {
      const runId = /run_id:(\w+)/.exec(await this.redis.info('server'))?.[1];
      if (!runId) return;
      const recorded = await this.redis.get(this.keys.validatedInstance());
      if (recorded !== runId) {
        const dropped = await this.dropUserState();
        await this.redis.set(this.keys.validatedInstance(), runId);
        this.logger?.warn({ runId, previous: recorded, dropped }, 'redis server changed: verification state dropped, rebuilt from Postgres on demand');
      }
      this.trustedRunId = runId;
    } catch (err) {
      this.trustedRunId = undefined;
      this.logger?.warn({ err: String(err) }, 'redis validation failed; verification reads Postgres');
    }
  }

  private async dropUserState(): Promise<number> {
    let cursor = '0';
    let dropped = 0;
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', this.keys.userStatePattern(), 'COUNT', 1000);
      cursor = next;
      if (keys.length) dropped += await this.redis.unlink(...keys);
    } while (cursor !== '0');
    return dropped;
  }
}
