import type { TokenRefusal } from '../errors/codes';

/** What verification needs to know about the user, the session and the membership of a token. */
export interface UserState {
  tokenVersion: number;
  status: 'active' | 'suspended' | 'missing';
}
export interface SessionState {
  /** 1 once revoked (or unknown): a revoked session can never be written back as live. */
  version: 0 | 1;
  revoked: boolean;
  /** Epoch seconds: the earlier of the session's idle expiry (as last read) and its absolute one. */
  expiresAt: number;
}
export interface MembershipState {
  permissionsVersion: number;
  status: 'active' | 'removed' | 'none';
  organizationId: string;
  organizationStatus: 'active' | 'suspended' | 'none';
}
export interface AuthState {
  user: UserState;
  session: SessionState;
  membership?: MembershipState;
}

/** The claims of a verified access token that the state checks look at. */
export interface AccessClaims {
  sub: string;
  sid: string;
  tv: number;
  org?: string;
  mid?: string;
  pv?: number;
  jti: string;
  iat: number;
  exp: number;
}

export const REVOKED_SESSION: SessionState = { version: 1, revoked: true, expiresAt: 0 };
export const MISSING_USER: UserState = { tokenVersion: 0, status: 'missing' };

export const codec = {
  user: {
    encode: (s: UserState) => `${s.tokenVersion}|${s.status}`,
    decode(raw: string): UserState | undefined {
      const [v, status] = raw.split('|');
      const tokenVersion = Number(v);
      if (!Number.isInteger(tokenVersion) || !['active', 'suspended', 'missing'].includes(status!)) return undefined;
      return { tokenVersion, status: status as UserState['status'] };
    },
    version: (s: UserState) => s.tokenVersion,
  },
  session: {
    encode: (s: SessionState) => `${s.version}|${s.revoked ? 'revoked' : 'live'}|${s.expiresAt}`,
    decode(raw: string): SessionState | undefined {
      const [v, state, exp] = raw.split('|');
      const expiresAt = Number(exp);
      if ((v !== '0' && v !== '1') || !['live', 'revoked'].includes(state!) || !Number.isFinite(expiresAt)) return undefined;
      return { version: v === '1' ? 1 : 0, revoked: state === 'revoked', expiresAt };
    },
    version: (s: SessionState) => s.version,
  },
  membership: {
    encode: (s: MembershipState) => `${s.permissionsVersion}|${s.status}|${s.organizationId}|${s.organizationStatus}`,
    decode(raw: string): MembershipState | undefined {
      const [v, status, organizationId, organizationStatus] = raw.split('|');
      const permissionsVersion = Number(v);
      if (!Number.isInteger(permissionsVersion) || !['active', 'removed', 'none'].includes(status!)) return undefined;
      if (!['active', 'suspended', 'none'].includes(organizationStatus!)) return undefined;
      return {
        permissionsVersion,
        status: status as MembershipState['status'],
        organizationId: organizationId ?? '',
        organizationStatus: organizationStatus as MembershipState['organizationStatus'],
      };
    },
    version: (s: MembershipState) => s.permissionsVersion,
  },
};

/**
 * True when a cached value is older than the token itself: the token carries a version the cache
 * has never seen, so the cache lost a write (flush, old snapshot) and must be re-read from Postgres.
 */
export function cacheIsBehind(claims: AccessClaims, state: Partial<AuthState>): boolean {
  if (state.user && state.user.status !== 'missing' && state.user.tokenVersion < claims.tv) return true;
  if (claims.mid && state.membership && state.membership.status !== 'none' && state.membership.permissionsVersion < (claims.pv ?? 0)) {
    return true;
  }
  return false;
}

/**
 * Checks 2 to 4 of the contract, in its order; the first failing check names the refusal.
 * `now` is in seconds.
 */
export function evaluate(claims: AccessClaims, state: AuthState, now: number): TokenRefusal | null {
  const { user, session, membership } = state;
  if (session.revoked) return 'session_revoked';
  if (session.expiresAt <= now) return 'session_expired';
  if (user.status === 'missing') return 'session_revoked';
  if (user.status !== 'active') return 'user_suspended';
  if (claims.tv !== user.tokenVersion) return 'token_version_stale';
  if (claims.org !== undefined) {
    if (!claims.mid || claims.pv === undefined || !membership) return 'membership_inactive';
    if (membership.organizationStatus !== 'active' && membership.organizationStatus !== 'none') return 'organization_suspended';
    if (membership.status !== 'active' || membership.organizationId !== claims.org) return 'membership_inactive';
    if (claims.pv !== membership.permissionsVersion) return 'permissions_stale';
  }
  return null;
}
