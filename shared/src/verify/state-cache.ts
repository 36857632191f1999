import { randomBytes } from 'node:crypto';
import type Redis from 'ioredis';
import type { Cluster, Result } from 'ioredis';
import type { Keys } from '../redis/keys';
import { KEY_TTL } from '../redis/keys';
import type { StateReader } from '../redis/state-reader';
import type { CacheGuard } from './cache-guard';
import { codec, type AuthState, type MembershipState, type SessionState, type UserState } from './auth-state';

type RedisLike = Redis | Cluster;

/** Seconds: well beyond the 5 s of clock skew verification allows between hosts. */
const SESSION_EXPIRY_MARGIN = 30;

/**
 * Replaces a value only when the stored one has an equal or lower leading version, so a slow
 * reader that fetched old state from Postgres can never overwrite a newer write (G4).
 */
const SET_IF_NOT_OLDER = `
local current = redis.call('GET', KEYS[1])
if current then
  local stored = tonumber(string.match(current, '^(%d+)|'))
  if stored and stored > tonumber(ARGV[1]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return 1`;

/** The same, and only while the user's fence (KEYS[2]) still holds the value ARGV[4] taken before the read. */
const SET_IF_FENCED = `
if redis.call('GET', KEYS[2]) ~= ARGV[4] then return 0 end
${SET_IF_NOT_OLDER}`;

/** The user's fence: the stored one, or ARGV[1] stored now (for ARGV[2] seconds). */
const FENCE = `
local current = redis.call('GET', KEYS[1])
if current then return current end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return ARGV[1]`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    lkSetIfNotOlder(key: string, version: number, value: string, ttl: number): Result<number, Context>;
    lkSetIfFenced(key: string, fenceKey: string, version: number, value: string, ttl: number, fence: string): Result<number, Context>;
    lkFence(fenceKey: string, candidate: string, ttl: number): Result<string, Context>;
  }
}

/**
 * Taken from Redis before a user's state is read from Postgres, and checked by every write of what
 * was read (see `fence`).
 */
export type Fence = string;

/**
 * The verification state in Redis: one MGET to read, versioned writes to fill and update. The
 * read goes through `reader` (a lean connection of its own, state-reader.ts) when one is given,
 * through ioredis otherwise.
 */
export class StateCache {
  constructor(
    readonly redis: RedisLike,
    readonly keys: Keys,
    /** When given, reads are refused while the Redis server is not validated (see CacheGuard). */
    private readonly guard?: Pick<CacheGuard, 'trusted' | 'trusts'>,
    private readonly reader?: StateReader,
  ) {
    if (!(redis as Redis).lkSetIfNotOlder) {
      redis.defineCommand('lkSetIfNotOlder', { numberOfKeys: 1, lua: SET_IF_NOT_OLDER });
      redis.defineCommand('lkSetIfFenced', { numberOfKeys: 2, lua: SET_IF_FENCED });
      redis.defineCommand('lkFence', { numberOfKeys: 1, lua: FENCE });
    }
  }

  /**
   * The user's fence, to take before reading the user's state from Postgres and to pass to the
   * write of what was read. Versions alone keep such a late write from overwriting newer state, but
   * not once that state is gone: after a FLUSHALL, or the guard dropping a restarted server's keys,
   * a read from before a revocation could cache a revoked session live again (G4, G5). The fence
   * key goes with the state (same hash tag, same pattern), so such a write finds another fence, or
   * none, and is refused; the next verification reads Postgres again.
   */
  async fence(userId: string): Promise<Fence> {
    return this.redis.lkFence(this.keys.fence(userId), randomBytes(12).toString('base64url'), KEY_TTL.fence);
  }

  /** One round trip: every key lives under the user's hash tag. Undecodable values count as missing. */
  async read(userId: string, sessionId: string, membershipId?: string): Promise<Partial<AuthState>> {
    if (this.guard && !this.guard.trusted) throw new Error('redis state not validated since the last (re)connection');
    // The reader's connection is its own: the server it reaches must be one the guard validated.
    if (this.reader && !this.guard?.trusts(this.reader.runId)) throw new Error('redis state reader not connected to a validated server');
    const keys = [this.keys.user(userId), this.keys.session(userId, sessionId)];
    if (membershipId) keys.push(this.keys.membership(userId, membershipId));
    const [user, session, membership] = await (this.reader ? this.reader.mget(keys) : this.redis.mget(keys));
    return {
      user: user ? codec.user.decode(user) : undefined,
      session: session ? codec.session.decode(session) : undefined,
      membership: membership ? codec.membership.decode(membership) : undefined,
    };
  }

  /**
   * Writes a whole state read from Postgres after `fence` was taken (read-through), never lowering
   * any stored version.
   */
  async fill(userId: string, sessionId: string, membershipId: string | undefined, state: AuthState, fence: Fence): Promise<void> {
    const pipeline = this.redis.pipeline();
    this.queueUser(pipeline, userId, state.user, fence);
    this.queueSession(pipeline, userId, sessionId, state.session, fence);
    if (membershipId && state.membership) this.queueMembership(pipeline, userId, membershipId, state.membership, fence);
    await execOrThrow(pipeline);
  }

  /**
   * A user's whole state read from Postgres after `fence` was taken (its sessions and memberships
   * live under its hash tag): one pipeline.
   */
  async writeUserState(
    userId: string,
    state: { user: UserState; sessions: Array<{ id: string; state: SessionState }>; memberships: Array<{ membershipId: string; state: MembershipState }> },
    fence: Fence,
  ): Promise<void> {
    const pipeline = this.queueUser(this.redis.pipeline(), userId, state.user, fence);
    for (const s of state.sessions) this.queueSession(pipeline, userId, s.id, s.state, fence);
    for (const m of state.memberships) this.queueMembership(pipeline, userId, m.membershipId, m.state, fence);
    await execOrThrow(pipeline);
  }

  async writeUser(userId: string, state: UserState): Promise<void> {
    await execOrThrow(this.queueUser(this.redis.pipeline(), userId, state));
  }

  async writeSessions(userId: string, sessions: Array<{ id: string; state: SessionState }>): Promise<void> {
    if (sessions.length === 0) return;
    const pipeline = this.redis.pipeline();
    for (const s of sessions) this.queueSession(pipeline, userId, s.id, s.state);
    await execOrThrow(pipeline);
  }

  /**
   * One pipeline per user: a user's keys share one slot, different users' keys do not, and a
   * Redis Cluster refuses a pipeline whose keys live on different masters. An entry read from
   * Postgres carries the fence of its user taken before the read.
   */
  async writeMemberships(entries: Array<{ userId: string; membershipId: string; state: MembershipState; fence?: Fence }>): Promise<void> {
    if (entries.length === 0) return;
    const byUser = new Map<string, typeof entries>();
    for (const e of entries) byUser.set(e.userId, [...(byUser.get(e.userId) ?? []), e]);
    await Promise.all(
      [...byUser.values()].map((list) => {
        const pipeline = this.redis.pipeline();
        for (const e of list) this.queueMembership(pipeline, e.userId, e.membershipId, e.state, e.fence);
        return execOrThrow(pipeline);
      }),
    );
  }

  /** A versioned write; with a fence (state read from Postgres), only while the user's fence holds it. */
  private queueSet(p: Pipeline, userId: string, key: string, version: number, value: string, ttl: number, fence?: Fence) {
    return fence === undefined
      ? p.lkSetIfNotOlder(key, version, value, ttl)
      : p.lkSetIfFenced(key, this.keys.fence(userId), version, value, ttl, fence);
  }

  private queueUser(p: Pipeline, userId: string, s: UserState, fence?: Fence) {
    return this.queueSet(p, userId, this.keys.user(userId), codec.user.version(s), codec.user.encode(s), KEY_TTL.user, fence);
  }

  /**
   * A live session's key expires SESSION_EXPIRY_MARGIN before the expiry it holds: its idle expiry
   * slides with every refresh without a Redis write, so before the stored one is reached, by any
   * verifier's clock, the key must be gone and the next verification read the slid expiry from
   * Postgres, never refuse a live session. Within the margin it is not cached at all. An expired
   * session (terminal: its refresh is refused too) is cached as such while its tokens may live.
   */
  private queueSession(p: Pipeline, userId: string, sessionId: string, s: SessionState, fence?: Fence) {
    const untilExpiry = s.expiresAt - Math.floor(Date.now() / 1000);
    let ttl: number;
    if (s.revoked) ttl = KEY_TTL.revokedSession;
    else if (untilExpiry <= 0) ttl = KEY_TTL.expiredSession;
    else if (untilExpiry > SESSION_EXPIRY_MARGIN) ttl = untilExpiry - SESSION_EXPIRY_MARGIN;
    else return p;
    return this.queueSet(p, userId, this.keys.session(userId, sessionId), codec.session.version(s), codec.session.encode(s), ttl, fence);
  }

  private queueMembership(p: Pipeline, userId: string, membershipId: string, s: MembershipState, fence?: Fence) {
    const key = this.keys.membership(userId, membershipId);
    return this.queueSet(p, userId, key, codec.membership.version(s), codec.membership.encode(s), KEY_TTL.membership, fence);
  }
}

type Pipeline = ReturnType<RedisLike['pipeline']>;

async function execOrThrow(pipeline: Pipeline): Promise<void> {
  const results = await pipeline.exec();
  for (const [err] of results ?? []) if (err) throw err;
}
