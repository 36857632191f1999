import { Membership, Organization, User } from '../../../../../shared/src/db/models';
import { AppError } from '../../../../../shared/src/errors/app-error';
import { buildEvent, insertOutboxEvent } from '../../../../../shared/src/events/outbox';
import type { SecurityEvent } from '../../../../../shared/src/events/schemas';
import { normalizeEmail } from '../../../../../shared/src/security/emails';
import { LIMITS } from '../../../../../shared/src/security/limits';
import { sha256 } from '../../../../../shared/src/tokens/sealing';
import { hashPassword, passwordNeedsRehash, verifyAgainstDummy, verifyPassword } from '../../../../../shared/src/security/passwords';
import type { ApiDeps } from '../../deps';
import type { RequestContext } from '../../http/request-context';
import { publishAfterCommit } from '../events/publish-after-commit';
import { openSession } from './sessions-factory';
import { toPublicUser, type SignedIn } from './token-response';

export interface LoginInput {
  email: string;
  password: string;
  organizationId?: string;
  deviceName?: string;
}

/** Password sign-in: the same answer and the same work for unknown accounts and wrong passwords. */
export class LoginService {
  constructor(private readonly deps: ApiDeps) {}

  /**
   * Checks the password under the sign-in limits; returns the user, or throws invalid_credentials
   * (auditing the failure) or rate_limited. Counters key on the address typed, known or not, so
   * limits and delays say nothing about which accounts exist.
   */
  async checkCredentials(input: LoginInput, ctx: RequestContext): Promise<User> {
    const { limiter } = this.deps;
    const account = sha256(normalizeEmail(input.email)).toString('hex');
    const ip = ctx.ip ?? 'unknown';
    await limiter.consume(LIMITS.loginAttemptsPerIp, ip);
    await limiter.check(LIMITS.loginFailuresPerAccount, account);
    await limiter.check(LIMITS.loginFailuresPerIp, ip);
    const user = await User.findOne({ where: { emailNormalized: normalizeEmail(input.email) } });
    const valid = user ? await verifyPassword(user.passwordHash, input.password) : await verifyAgainstDummy(input.password);
    if (!user || !valid) {
      const [perAccount] = await Promise.all([limiter.hit(LIMITS.loginFailuresPerAccount, account), limiter.hit(LIMITS.loginFailuresPerIp, ip)]);
      const lockedNow = perAccount.count === limiter.limitOf(LIMITS.loginFailuresPerAccount);
      await this.recordFailure(user?.id, lockedNow ? 'account_locked' : user ? 'wrong_password' : 'unknown_account', ctx);
      await progressiveDelay(perAccount.count);
      throw new AppError('invalid_credentials');
    }
    await limiter.reset(LIMITS.loginFailuresPerAccount, account);
    if (passwordNeedsRehash(user.passwordHash)) {
      await user.update({ passwordHash: await hashPassword(input.password) });
    }
    if (user.status !== 'active') throw new AppError('user_suspended');
    if (user.passwordResetRequired) {
      throw new AppError('forbidden', { publicDetail: 'A password reset is required before signing in.' });
    }
    if (this.deps.config.requireEmailVerification && !user.emailVerifiedAt) {
      throw new AppError('forbidden', { publicDetail: 'Verify your email address before signing in.' });
    }
    return user;
  }

  /** Opens a session for a user whose credentials (and MFA, if any) were checked. */
  async openSession(user: User, input: { organizationId?: string; deviceName?: string }, ctx: RequestContext): Promise<SignedIn> {
    const { db } = this.deps;
    const context = input.organizationId ? await activeMembership(user.id, input.organizationId) : undefined;
    const events: SecurityEvent[] = [];
    const { session, refreshToken } = await db.transaction(async (t) => {
      const opened = await openSession(
        this.deps,
        t,
        { userId: user.id, organizationId: context?.organization.id, membershipId: context?.membership.id, deviceName: input.deviceName },
        ctx,
      );
      const event = buildEvent({
        type: 'auth.login_succeeded',
        source: 'api',
        actor: { type: 'user', id: user.id },
        requestId: ctx.requestId,
        ip: ctx.ip,
        userAgent: ctx.userAgent,
        data: { userId: user.id, sessionId: opened.session.id, ...(context ? { organizationId: context.organization.id } : {}) },
      });
      await insertOutboxEvent(db, t, event);
      events.push(event);
      return opened;
    });
    publishAfterCommit(this.deps, events);
    return {
      user: toPublicUser(user),
      session: { id: session.id, idleExpiresAt: session.idleExpiresAt, expiresAt: session.expiresAt },
      token: {
        tokenVersion: user.tokenVersion,
        ...(context
          ? { organizationId: context.organization.id, membershipId: context.membership.id, permissionsVersion: context.membership.permissionsVersion }
          : {}),
      },
      ...(context ? { organization: { id: context.organization.id, name: context.organization.name } } : {}),
      refreshToken,
    };
  }

  private async recordFailure(userId: string | undefined, reason: string, ctx: RequestContext): Promise<void> {
    const { db } = this.deps;
    const event = buildEvent({
      type: 'auth.login_failed',
      source: 'api',
      actor: { type: 'system', id: 'latchkey-api' },
      requestId: ctx.requestId,
      ip: ctx.ip,
      userAgent: ctx.userAgent,
      data: { ...(userId ? { userId } : {}), reason },
    });
    await db.transaction((t) => insertOutboxEvent(db, t, event));
    publishAfterCommit(this.deps, [event]);
  }
}

/** After a few failures each further one is answered more slowly (at most 5 s), capping guesses. */
async function progressiveDelay(failures: number): Promise<void> {
  if (failures <= 3) return;
  await new Promise((resolve) => setTimeout(resolve, Math.min(5_000, 250 * 2 ** (failures - 4))));
}

/** The active membership of a user in an active organization, or 403 forbidden. */
export async function activeMembership(userId: string, organizationId: string): Promise<{ membership: Membership; organization: Organization }> {
  const [membership, organization] = await Promise.all([
    Membership.findOne({ where: { userId, organizationId, status: 'active' } }),
    Organization.findByPk(organizationId),
  ]);
  if (!membership || !organization || organization.status !== 'active') {
    throw new AppError('forbidden', { publicDetail: 'Not an active member of an active organization with that id.' });
  }
  return { membership, organization };
}
