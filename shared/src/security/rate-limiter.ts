import type Redis from 'ioredis';
import type { Cluster, Result } from 'ioredis';
import { AppError } from '../errors/app-error';
import type { Keys } from '../redis/keys';

/** A fixed-window limit: at most `limit` hits per `windowSeconds` for one subject. */
export interface LimitRule {
  name: string;
  limit: number;
  windowSeconds: number;
}

/** The outcome of counting one hit. */
export interface LimitState {
  count: number;
  /** Seconds until the window resets. */
  resetIn: number;
  blocked: boolean;
}

// INCR and EXPIRE in one atomic step, so a crash between them never leaves a counter without TTL.
// A small Lua script rather than a library: one round trip, Cluster-safe (one key), no extra state.
const HIT = `
local count = redis.call('INCRBY', KEYS[1], ARGV[2])
local ttl = redis.call('TTL', KEYS[1])
if ttl < 0 then redis.call('EXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {count, ttl}`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    lkHit(key: string, windowSeconds: number, increment: number): Result<[number, number], Context>;
  }
}

/**
 * Counters shared by every API process (Redis). When Redis cannot answer, a per-process memory
 * limiter takes over: weaker across processes, but never "no limit at all".
 * `scale` (RATE_LIMIT_SCALE) multiplies every limit.
 */
export class RateLimiter {
  private readonly memory = new Map<string, { count: number; resetAt: number }>();

  constructor(
    private readonly redis: Redis | Cluster,
    private readonly keys: Keys,
    private readonly scale: number,
    private readonly maxMemoryEntries = 100_000,
  ) {
    if (!(redis as Redis).lkHit) redis.defineCommand('lkHit', { numberOfKeys: 1, lua: HIT });
  }

  limitOf(rule: LimitRule): number {
    return Math.max(1, Math.floor(rule.limit * this.scale));
  }

  /** Counts `increment` hits (0 only reads) and reports whether the subject is over the limit. */
  async hit(rule: LimitRule, subject: string, increment = 1): Promise<LimitState> {
    const key = this.keys.limit(rule.name, subject);
    let count: number;
    let resetIn: number;
    try {
      [count, resetIn] = await this.redis.lkHit(key, rule.windowSeconds, increment);
    } catch {
      ({ count, resetIn } = this.hitInMemory(key, rule.windowSeconds, increment));
    }
    return { count, resetIn, blocked: count > this.limitOf(rule) };
  }

  /** Counts a hit and throws 429 rate_limited (with Retry-After) once over the limit. */
  async consume(rule: LimitRule, subject: string): Promise<LimitState> {
    const state = await this.hit(rule, subject);
    if (state.blocked) throw rateLimited(state.resetIn);
    return state;
  }

  /** Throws 429 if the subject is already over the limit, without counting. */
  async check(rule: LimitRule, subject: string): Promise<LimitState> {
    const state = await this.hit(rule, subject, 0);
    if (state.count >= this.limitOf(rule)) throw rateLimited(state.resetIn);
    return state;
  }

  async reset(rule: LimitRule, subject: string): Promise<void> {
    const key = this.keys.limit(rule.name, subject);
    this.memory.delete(key);
    await this.redis.del(key).catch(() => undefined);
  }

  private hitInMemory(key: string, windowSeconds: number, increment: number): { count: number; resetIn: number } {
    const now = Date.now();
    let entry = this.memory.get(key);
    if (!entry || entry.resetAt <= now) {
      if (this.memory.size >= this.maxMemoryEntries) this.evictExpired(now);
      entry = { count: 0, resetAt: now + windowSeconds * 1000 };
      this.memory.set(key, entry);
    }
    entry.count += increment;
    return { count: entry.count, resetIn: Math.ceil((entry.resetAt - now) / 1000) };
  }

  private evictExpired(now: number): void {
    for (const [key, entry] of this.memory) if (entry.resetAt <= now) this.memory.delete(key);
    // Still full: drop the oldest entries (Map keeps insertion order).
    for (const key of this.memory.keys()) {
      if (this.memory.size < this.maxMemoryEntries) break;
      this.memory.delete(key);
    }
  }
}

export function rateLimited(retryAfterSeconds: number): AppError {
  return new AppError('rate_limited', { retryAfter: Math.max(1, retryAfterSeconds) });
}
