import { createHash } from 'node:crypto';
import { AppError } from '../../../../../shared/src/errors/app-error';
import type { RedisClient } from '../../../../../shared/src/redis/client';
import { KEY_TTL, type Keys } from '../../../../../shared/src/redis/keys';
import { MFA_CHALLENGE_ATTEMPTS } from '../../../../../shared/src/security/limits';
import { randomSecret } from '../../../../../shared/src/tokens/sealing';

/** What a pending second-factor sign-in remembers between the password and the code. */
export interface PendingSignIn {
  userId: string;
  /** The user's token version when the password was checked: a change since then voids the proof. */
  tokenVersion: number;
  organizationId?: string;
  deviceName?: string;
}

const hashId = (id: string) => createHash('sha256').update(id).digest('hex');

/**
 * MFA challenges in Redis: five minutes, single use, a few wrong codes at most. Only the hash of
 * the challenge id is a key. Redis down means no second factor can be checked: 503, fail closed.
 */
export class MfaChallenges {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keys,
  ) {}

  async create(pending: PendingSignIn): Promise<string> {
    const challengeId = randomSecret(24);
    const key = this.keys.mfaChallenge(hashId(challengeId));
    await this.redis
      .multi()
      .hset(key, { userId: pending.userId, tokenVersion: String(pending.tokenVersion), organizationId: pending.organizationId ?? '', deviceName: pending.deviceName ?? '', attempts: '0' })
      .expire(key, KEY_TTL.mfaChallenge)
      .exec()
      .catch((err: unknown) => {
        throw new AppError('service_unavailable', { detail: 'MFA challenge store unreachable', cause: err });
      });
    return challengeId;
  }

  /** Counts an attempt; the challenge is burnt after too many. Undefined when unknown or burnt. */
  async attempt(challengeId: string): Promise<PendingSignIn | undefined> {
    const key = this.keys.mfaChallenge(hashId(challengeId));
    try {
      const [[, attempts], [, fields]] = (await this.redis.multi().hincrby(key, 'attempts', 1).hgetall(key).exec()) as [
        [unknown, number],
        [unknown, Record<string, string>],
      ];
      const tokenVersion = Number(fields.tokenVersion);
      // Without a token version (a challenge written before it was kept) the password proof cannot
      // be checked against later revocations: unknown, as a burnt one is.
      if (!fields.userId || !Number.isSafeInteger(tokenVersion) || attempts > MFA_CHALLENGE_ATTEMPTS) {
        await this.redis.del(key);
        return undefined;
      }
      return { userId: fields.userId, tokenVersion, organizationId: fields.organizationId || undefined, deviceName: fields.deviceName || undefined };
    } catch (err) {
      throw new AppError('service_unavailable', { detail: 'MFA challenge store unreachable', cause: err });
    }
  }

  /** Spends the challenge; true for exactly one caller. */
  async consume(challengeId: string): Promise<boolean> {
    return (await this.redis.del(this.keys.mfaChallenge(hashId(challengeId)))) === 1;
  }
}
