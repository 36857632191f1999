/**
 * Every Redis key Latchkey uses, built in one place, with its time to live beside it.
 *
 * A user's verification keys share the hash tag `{u:<id>}`, so the one pipelined read per request
 * stays on one Redis Cluster slot. Values start with a version number; writers only ever replace a
 * value with one of an equal or higher version (see state-cache.ts), which keeps versions monotonic.
 */
export function createKeys(prefix: string) {
  return {
    /** `<tokenVersion>|<status>` of a user. */
    user: (userId: string) => `${prefix}:{u:${userId}}:user`,
    /** `<0|1>|<live|revoked>|<expiresAt epoch s>` of one session of that user. */
    session: (userId: string, sessionId: string) => `${prefix}:{u:${userId}}:s:${sessionId}`,
    /** `<permissionsVersion>|<active|removed|none>|<organizationId>|<organization status>` of a membership. */
    membership: (userId: string, membershipId: string) => `${prefix}:{u:${userId}}:m:${membershipId}`,
    /** JSON array of the permissions a membership had at one permissions version (immutable). */
    permissions: (membershipId: string, permissionsVersion: number) =>
      `${prefix}:{m:${membershipId}}:perm:${permissionsVersion}`,
    /**
     * A random value taken before a user's state is read from Postgres and checked when it is
     * written (state-cache.ts `fence`); it goes whenever the user's state goes (flush, guard drop).
     */
    fence: (userId: string) => `${prefix}:{u:${userId}}:fence`,
    /** Per-limiter counters (rate limits, failed sign-ins). */
    limit: (name: string, subject: string) => `${prefix}:{rl:${name}:${subject}}`,
    /** MFA challenges, single use, five minutes. */
    mfaChallenge: (challengeHash: string) => `${prefix}:mfa:${challengeHash}`,
    /**
     * The run id of the Redis server whose verification state was last validated. A different run
     * id means the server restarted: its data may be an old snapshot, so the state is dropped.
     */
    validatedInstance: () => `${prefix}:validated-instance`,
    /** Pattern of every per-user verification key (what `CacheGuard` drops when untrusted). */
    userStatePattern: () => `${prefix}:{u:*`,
    /** Pattern of every user's fence (dropped before the rest: see `dropVerificationState`). */
    fencePattern: () => `${prefix}:{u:*}:fence`,
    /** Set once a notice (mail) for an event was sent, so redeliveries do not mail twice. */
    noticeSent: (eventId: string) => `${prefix}:notice:${eventId}`,
  };
}

export type Keys = ReturnType<typeof createKeys>;

/** Time to live of each kind of key, in seconds. Missing keys are rebuilt from Postgres. */
export const KEY_TTL = {
  user: 24 * 3600,
  membership: 24 * 3600,
  /** Live sessions until shortly before their expiry (state-cache.ts); revoked ones stay as long as any token could. */
  revokedSession: 24 * 3600,
  /** An expired session, as long as an access token issued before its expiry may live (900 s at most). */
  expiredSession: 900,
  permissions: 24 * 3600,
  /** A fence that expires under a read only makes that read's write refused (it is read again). */
  fence: 24 * 3600,
  mfaChallenge: 300,
  /** Longer than any job's retries; a redelivery after that mails again, which is acceptable. */
  noticeSent: 7 * 24 * 3600,
} as const;
