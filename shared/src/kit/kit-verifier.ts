import { setTimeout as sleep } from 'node:timers/promises';
import type Redis from 'ioredis';
import type { Cluster } from 'ioredis';
import { createLocalJWKSet, createRemoteJWKSet, errors as joseErrors, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import { AppError } from '../errors/app-error';
import type { TokenRefusal } from '../errors/codes';
import { createKeys, type Keys } from '../redis/keys';
import { SignatureVerifier } from '../tokens/access-token';
import { SIGNING_ALGORITHMS } from '../tokens/algorithms';
import { cacheIsBehind, evaluate, type AccessClaims, type AuthState } from '../verify/auth-state';
import { CacheGuard } from '../verify/cache-guard';
import { StateCache } from '../verify/state-cache';
import { introspect, type IntrospectionOptions } from './introspection-client';

/** What a product backend configures to verify Latchkey access tokens itself. */
export interface VerifierOptions {
  /** Latchkey's `/.well-known/jwks.json` URL (fetched and cached, refetched for an unknown `kid`). */
  jwksUrl?: string | URL;
  /** Or the public keys themselves. */
  keys?: JSONWebKeySet;
  /** The Redis Latchkey writes its verification state to (read only by the kit). */
  redis: Redis | Cluster;
  /** Latchkey's `JWT_ISSUER` and `JWT_AUDIENCE`. */
  issuer: string;
  audience: string;
  /** Latchkey's `REDIS_KEY_PREFIX` (default `lk`). */
  keyPrefix?: string;
  /**
   * The algorithms accepted (default: every one Latchkey signs with). Each key is used only for
   * the algorithm its JWK names, so a token's algorithm is pinned to its key's either way.
   */
  algorithms?: string[];
  /**
   * Fallback when a Redis key is missing (flushed, expired, restored) or Redis is down: Latchkey's
   * introspection fills it. Without it such requests are refused with 503, never accepted.
   */
  introspection?: IntrospectionOptions;
  /** Bound of the in-process permissions cache (entries are immutable per membership and version). */
  permissionsCacheSize?: number;
}

/** Fetches of Latchkey's JWKS for kids it does not hold: at most one per this interval. */
const JWKS_REFETCH_INTERVAL_MS = 1_000;

/**
 * Latchkey's JWKS over HTTP, fetched again for a kid it does not hold. After `keys rotate` Latchkey
 * signs with the new key at once, possibly a moment after this process fetched the set: a token
 * with that kid waits for the next allowed fetch instead of being refused (a rotation fails no
 * request), while made-up kids cost at most one fetch per interval, shared by every waiting request.
 */
function remoteKeys(url: URL): JWTVerifyGetKey {
  const remote = createRemoteJWKSet(url, { cooldownDuration: JWKS_REFETCH_INTERVAL_MS, cacheMaxAge: 10 * 60_000 });
  return async (header, token) => {
    try {
      return await remote(header, token);
    } catch (err) {
      if (!(err instanceof joseErrors.JWKSNoMatchingKey) || !remote.coolingDown) throw err;
      await sleep(JWKS_REFETCH_INTERVAL_MS);
      return remote(header, token); // past the cooldown: jose fetches again for the unknown kid
    }
  };
}

/**
 * The contract's verification (section 2) for a process without Postgres: signature and claims
 * with jose, then the session, token version, statuses and `pv` from Latchkey's Redis in one read.
 */
export class KitVerifier {
  readonly keys: Keys;
  private readonly signatures: SignatureVerifier;
  private readonly cache: StateCache;
  private readonly guard: CacheGuard;
  private readonly permissionsCache = new Map<string, string[]>();

  constructor(readonly options: VerifierOptions) {
    if (!options.jwksUrl === !options.keys) throw new Error('createVerifier: give exactly one of jwksUrl or keys');
    if (!options.issuer || !options.audience) throw new Error('createVerifier: issuer and audience are required');
    const getKey: JWTVerifyGetKey = options.jwksUrl ? remoteKeys(new URL(options.jwksUrl)) : createLocalJWKSet(options.keys!);
    this.signatures = new SignatureVerifier({
      getKey,
      issuer: options.issuer,
      audience: options.audience,
      algorithms: options.algorithms ?? [...SIGNING_ALGORITHMS],
    });
    this.keys = createKeys(options.keyPrefix ?? 'lk');
    // Trusted only once Latchkey has validated the server it reaches: a Redis restored from an old
    // snapshot would otherwise show revoked sessions as live until Latchkey dropped them (G4, G5).
    this.guard = new CacheGuard(options.redis, this.keys, undefined, { observeOnly: true });
    this.cache = new StateCache(options.redis, this.keys, this.guard);
  }

  /** Stops watching the Redis client (which stays the caller's to close); verification stops trusting Redis. */
  close(): void {
    this.guard.close();
  }

  /** The claims of an acceptable token; otherwise an AppError with the contract's refusal code. */
  async verify(token: string): Promise<AccessClaims> {
    const claims = await this.signatures.verify(token);
    const state = await this.cache.read(claims.sub, claims.sid, claims.mid).catch(() => undefined);
    if (state && isComplete(claims, state) && !cacheIsBehind(claims, state)) {
      const refusal = evaluate(claims, state, nowSeconds());
      if (refusal) throw new AppError(refusal);
      return claims;
    }
    return this.verifyByIntrospection(token, claims);
  }

  /** Permissions of the token's membership at its `pv`: memory, then Redis, then introspection. */
  async permissions(token: string, claims: AccessClaims): Promise<string[]> {
    if (!claims.mid || claims.pv === undefined) return [];
    const id = `${claims.mid}:${claims.pv}`;
    const local = this.permissionsCache.get(id);
    if (local) return local;
    const raw = await this.options.redis.get(this.keys.permissions(claims.mid, claims.pv)).catch(() => null);
    let permissions = raw ? parsePermissions(raw) : undefined;
    if (!permissions) {
      await this.verifyByIntrospection(token, claims);
      permissions = this.permissionsCache.get(id);
      if (!permissions) throw new AppError('service_unavailable', { detail: 'permissions unavailable' });
      return permissions;
    }
    this.remember(id, permissions);
    return permissions;
  }

  private async verifyByIntrospection(token: string, claims: AccessClaims): Promise<AccessClaims> {
    if (!this.options.introspection) {
      throw new AppError('service_unavailable', { detail: 'verification state missing from Redis and no introspection configured' });
    }
    const answer = await introspect(this.options.introspection, token);
    if (answer.active && answer.sub === claims.sub && answer.sid === claims.sid && answer.pv === claims.pv) {
      if (claims.mid && answer.permissions) this.remember(`${claims.mid}:${claims.pv}`, answer.permissions);
      return claims;
    }
    throw new AppError(await this.refusalAfterInactive(claims));
  }

  /** Introspection says only `active:false`; Latchkey has just written the state, so read why. */
  private async refusalAfterInactive(claims: AccessClaims): Promise<TokenRefusal> {
    const state = await this.cache.read(claims.sub, claims.sid, claims.mid).catch(() => undefined);
    if (state && isComplete(claims, state)) return evaluate(claims, state, nowSeconds()) ?? 'invalid_token';
    return 'invalid_token';
  }

  private remember(id: string, permissions: string[]): void {
    if (this.permissionsCache.size >= (this.options.permissionsCacheSize ?? 10_000)) {
      this.permissionsCache.delete(this.permissionsCache.keys().next().value!);
    }
    this.permissionsCache.set(id, permissions);
  }
}

function isComplete(claims: AccessClaims, state: Partial<AuthState>): state is AuthState {
  return Boolean(state.user && state.session && (!claims.mid || state.membership));
}

function parsePermissions(raw: string): string[] | undefined {
  try {
    const value = JSON.parse(raw);
    return Array.isArray(value) && value.every((p) => typeof p === 'string') ? value : undefined;
  } catch {
    return undefined;
  }
}

const nowSeconds = () => Math.floor(Date.now() / 1000);
