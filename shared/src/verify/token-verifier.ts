import { AppError, isAppError } from '../errors/app-error';
import type { TokenRefusal } from '../errors/codes';
import type { SignatureVerifier } from '../tokens/access-token';
import { cacheIsBehind, evaluate, type AccessClaims, type AuthState } from './auth-state';
import type { StateCache } from './state-cache';

/** Where durable state comes from when Redis misses or is down: Postgres in the API. */
export interface StateSource {
  load(userId: string, sessionId: string, membershipId?: string): Promise<AuthState>;
}

/** Where the verification state came from, for metrics. */
export type StateOrigin = 'redis' | 'read-through' | 'postgres-fallback';

export interface VerifyOutcome {
  code: TokenRefusal | 'ok' | 'service_unavailable';
  origin?: StateOrigin;
}

/**
 * The full access-token check of the contract: signature and claims (cached per token), then the
 * session, token version, statuses and permissions version from one Redis read on every request.
 * Missing keys are read from Postgres and written back; a Redis outage reads Postgres; when both
 * are down the answer is 503 (fail closed).
 */
export class TokenVerifier {
  constructor(
    private readonly deps: {
      signatures: SignatureVerifier;
      cache: StateCache;
      source: StateSource;
      onOutcome?: (outcome: VerifyOutcome) => void;
    },
  ) {}

  async verify(token: string): Promise<AccessClaims> {
    let origin: StateOrigin | undefined;
    try {
      const claims = this.deps.signatures.cached(token) ?? (await this.deps.signatures.verify(token));
      const resolved = await this.resolveState(claims);
      origin = resolved.origin;
      const refusal = evaluate(claims, resolved.state, Math.floor(Date.now() / 1000));
      if (refusal) throw new AppError(refusal);
      this.deps.onOutcome?.({ code: 'ok', origin });
      return claims;
    } catch (err) {
      const code = isAppError(err) ? (err.code as VerifyOutcome['code']) : 'service_unavailable';
      this.deps.onOutcome?.({ code, origin });
      throw err;
    }
  }

  private async resolveState(claims: AccessClaims): Promise<{ state: AuthState; origin: StateOrigin }> {
    const { sub, sid, mid } = claims;
    let cached: Partial<AuthState>;
    try {
      cached = await this.deps.cache.read(sub, sid, mid);
    } catch {
      return { state: await this.loadOrUnavailable(claims), origin: 'postgres-fallback' };
    }
    const complete = cached.user && cached.session && (!mid || cached.membership);
    if (complete && !cacheIsBehind(claims, cached)) return { state: cached as AuthState, origin: 'redis' };
    // The fence is taken before the read; without one (Redis just failed) nothing is written back.
    const fence = await this.deps.cache.fence(sub).catch(() => undefined);
    const state = await this.loadOrUnavailable(claims);
    if (fence !== undefined) await this.deps.cache.fill(sub, sid, mid, state, fence).catch(() => undefined);
    return { state, origin: 'read-through' };
  }

  private async loadOrUnavailable(claims: AccessClaims): Promise<AuthState> {
    try {
      return await this.deps.source.load(claims.sub, claims.sid, claims.mid);
    } catch (err) {
      throw new AppError('service_unavailable', { detail: 'verification state unreachable (Redis and Postgres)', cause: err });
    }
  }
}
