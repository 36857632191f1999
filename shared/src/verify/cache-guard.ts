import type Redis from 'ioredis';
import type { Logger } from '../logging/logger';
import { isCluster, type RedisClient } from '../redis/client';
import type { Keys } from '../redis/keys';
import { masters, runIdOf, unlinkMatchingOnNode } from '../redis/nodes';

/**
 * Decides whether the verification state in Redis may be trusted (G4, G5).
 *
 * Redis restarted from an older snapshot holds lower versions and live sessions that were revoked
 * since: nothing in the values themselves can tell. The server's run id can: every (re)connection
 * compares the run id of every master (one server, or each master of a Redis Cluster) with the run
 * ids recorded in Redis when the state was last validated. A master whose run id is not recorded
 * restarted (or was promoted, or joined): its per-user keys are dropped (missing keys are read from
 * Postgres, never trusted blindly) before the cache is trusted again. Masters whose run id is
 * recorded keep their keys. If the record itself was lost (its master restarted), every master is
 * treated as new. From the moment any connection drops until that check is done, `trusted` is
 * false and verification reads Postgres. A master that did not restart keeps its keys, but writes
 * that failed while contact was lost are missing from them: with `catchUp`, those are repaired
 * from Postgres before it is trusted again.
 *
 * The record (`validatedInstance`) is the sorted, comma-separated list of the validated run ids.
 *
 * A product backend's kit (`observeOnly`) reads Latchkey's Redis but never writes it: it trusts the
 * state only once every master's run id is recorded, which a Latchkey process does after dropping
 * the state of a restarted master; until then it checks again every 500 ms and verifies through
 * introspection (or refuses with 503) meanwhile.
 */
/** An event listener, as Node's EventEmitter takes it. */
type Listener = Parameters<NodeJS.EventEmitter['on']>[1];

export class CacheGuard {
  private trustedRunIds: string[] | undefined;
  private checking: Promise<void> | undefined;
  /** Bumped whenever a connection drops or a node appears: a check that saw an older one is redone. */
  private generation = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private closed = false;
  /**
   * Since when the server may have missed writes (a connection dropped; for a process starting,
   * its start): the next validation catches up on them first. Undefined once caught up.
   */
  private lostSince: Date | undefined = new Date();
  /** Every listener it added, so that `close` leaves the client as it found it. */
  private readonly listening: Array<{ emitter: NodeJS.EventEmitter; event: string; listener: Listener }> = [];

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keys,
    private readonly logger?: Logger,
    private readonly options: {
      observeOnly?: boolean;
      /**
       * Run before trusting a server again after contact with it was lost (outage-catch-up.ts):
       * writes that failed meanwhile are repaired first. Trust waits until it succeeds.
       */
      catchUp?: (since: Date) => Promise<void>;
    } = {},
  ) {
    const distrust = () => {
      this.generation++;
      this.trustedRunIds = undefined;
      this.lostSince ??= new Date();
    };
    const revalidate = () => void this.validate();
    this.listen(redis, 'close', distrust);
    this.listen(redis, 'ready', revalidate);
    if (isCluster(redis)) {
      // A master's connection closing (restart, failover), a node leaving or a new one appearing
      // (rediscovered, promoted): nothing is trusted until every master is checked again.
      const watch = (node: Redis) => {
        this.listen(node, 'close', distrust);
        this.listen(node, 'ready', revalidate);
      };
      redis.nodes('all').forEach(watch);
      this.listen(redis, '-node', distrust);
      this.listen(redis, '+node', (node: Redis) => {
        distrust();
        watch(node);
        if (redis.status === 'ready') void this.validate();
      });
    }
    if (redis.status === 'ready') void this.validate();
  }

  /** Stops watching the client (its listeners removed, no more re-checks); it is trusted no more. */
  close(): void {
    this.closed = true;
    this.trustedRunIds = undefined;
    clearTimeout(this.retryTimer);
    for (const { emitter, event, listener } of this.listening.splice(0)) emitter.off(event, listener);
  }

  private listen(emitter: NodeJS.EventEmitter, event: string, listener: Listener): void {
    emitter.on(event, listener);
    this.listening.push({ emitter, event, listener });
  }

  get trusted(): boolean {
    return this.trustedRunIds !== undefined;
  }

  /** True when the server with this run id was validated (the state reader's own connection). */
  trusts(runId: string | undefined): boolean {
    return runId !== undefined && this.trustedRunIds !== undefined && this.trustedRunIds.includes(runId);
  }

  /** Validates (or re-validates) every master; concurrent calls share one check. */
  validate(): Promise<void> {
    this.checking ??= this.checkUntilSettled().finally(() => {
      this.checking = undefined;
    });
    return this.checking;
  }

  private async checkUntilSettled(): Promise<void> {
    for (let i = 0; i < 5; i++) {
      const generation = this.generation;
      const runIds = await this.check();
      if (generation !== this.generation) continue; // a node dropped or joined meanwhile: check again
      this.trustedRunIds = runIds;
      break;
    }
    // A failed check (e.g. CLUSTERDOWN while a restarted master rejoins) is retried while the
    // client lives: no further connection event may come to trigger it.
    if (!this.trustedRunIds && this.redis.status !== 'end' && !this.retryTimer && !this.closed) {
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        if (!this.trustedRunIds && this.redis.status !== 'end') void this.validate();
      }, 500);
      this.retryTimer.unref();
    }
  }

  /** The validated run ids, or undefined when the check could not be completed. */
  private async check(): Promise<string[] | undefined> {
    try {
      const nodes = masters(this.redis);
      if (nodes.length === 0) return undefined;
      const runIds = await Promise.all(nodes.map(runIdOf));
      if (runIds.some((id) => !id)) return undefined;
      const current = runIds as string[];
      const recordedValue = await this.redis.get(this.keys.validatedInstance());
      const recorded = new Set(recordedValue ? recordedValue.split(',') : []);
      const unknown = nodes.filter((_, i) => !recorded.has(current[i]!));
      const record = [...current].sort().join(',');
      // The kit never writes: it trusts exactly the masters Latchkey recorded.
      if (this.options.observeOnly) return unknown.length ? undefined : current;
      if (unknown.length) {
        const dropped = await dropVerificationState(unknown, this.keys);
        this.logger?.warn(
          { masters: nodes.length, restarted: unknown.length, runIds: current, previous: recordedValue, dropped },
          'redis master(s) changed: their verification state dropped, rebuilt from Postgres on demand',
        );
      }
      const since = this.lostSince;
      if (since && this.options.catchUp) {
        this.lostSince = undefined;
        try {
          await this.options.catchUp(since);
        } catch (err) {
          this.lostSince = since;
          throw err;
        }
      }
      if (record !== recordedValue) await this.redis.set(this.keys.validatedInstance(), record);
      this.failures = 0;
      return current;
    } catch (err) {
      // Retried every 500 ms while it fails: warn once per outage, not on every retry.
      if (this.failures++ === 0) this.logger?.warn({ err: String(err) }, 'redis validation failed; verification reads Postgres');
      return undefined;
    }
  }
}

/**
 * Drops every user's verification state on these nodes: the fences first, then everything else.
 * A write of state read from Postgres before the drop (fenced) is refused once its fence is gone,
 * and one that landed before that is removed by the second pass: none outlives the drop, whatever
 * order the SCAN visits the keys in. Returns how many keys existed.
 */
export async function dropVerificationState(nodes: Redis[], keys: Keys): Promise<number> {
  const drop = (pattern: string) => Promise.all(nodes.map((node) => unlinkMatchingOnNode(node, pattern)));
  const fences = await drop(keys.fencePattern());
  const rest = await drop(keys.userStatePattern());
  return [...fences, ...rest].reduce((a, b) => a + b, 0);
}
