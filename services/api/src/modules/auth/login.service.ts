import { randomUUID } from 'node:crypto';
import type { Sequelize } from 'sequelize';
import { Membership, Organization, User } from '../../../../../shared/src/db/models';
import { AppError } from '../../../../../shared/src/errors/app-error';
import { retryingDeadlocks } from '../../../../../shared/src/db/deadlock-retry';
import { rawQuery } from '../../../../../shared/src/db/raw-connection';
import { buildEvent, insertOutboxEvent } from '../../../../../shared/src/events/outbox';
import { normalizeEmail } from '../../../../../shared/src/security/emails';
import { isUuid } from '../../../../../shared/src/validation/storable';
import { LIMITS } from '../../../../../shared/src/security/limits';
import { randomSecret, sha256 } from '../../../../../shared/src/tokens/sealing';
import { hashPassword, passwordNeedsRehash, verifyAgainstDummy, verifyPassword } from '../../../../../shared/src/security/passwords';
import type { ApiDeps } from '../../deps';
import type { RequestContext } from '../../http/request-context';
import { publishAfterCommit } from '../events/publish-after-commit';
import { signInRefusal, signInStateOf, staleProof } from './sign-in-checks';
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
    const email = normalizeEmail(input.email);
    const account = sha256(email).toString('hex');
    const ip = ctx.ip ?? 'unknown';
    // The attempt is counted and both failure counters read in one round trip (three independent
    // keys, pipelined), then judged in this order: attempts per address, failures per account,
    // failures per address.
    const [, accountFailures] = await firstRejection([
      limiter.consume(LIMITS.loginAttemptsPerIp, ip),
      limiter.check(LIMITS.loginFailuresPerAccount, account),
      limiter.check(LIMITS.loginFailuresPerIp, ip),
    ]);
    const user = await userByEmail(this.deps.db, email);
    const valid = user ? await verifyPassword(user.passwordHash, input.password) : await verifyAgainstDummy(input.password);
    if (!user || !valid) {
      const [perAccount] = await Promise.all([limiter.hit(LIMITS.loginFailuresPerAccount, account), limiter.hit(LIMITS.loginFailuresPerIp, ip)]);
      const lockedNow = perAccount.count === limiter.limitOf(LIMITS.loginFailuresPerAccount);
      await this.recordFailure(user?.id, lockedNow ? 'account_locked' : user ? 'wrong_password' : 'unknown_account', ctx);
      await progressiveDelay(perAccount.count);
      throw new AppError('invalid_credentials');
    }
    // Nothing to reset when no failure was counted before this attempt (a failure counted since
    // then stays counted: stricter, never weaker).
    if (accountFailures.count > 0) await limiter.reset(LIMITS.loginFailuresPerAccount, account);
    if (passwordNeedsRehash(user.passwordHash)) await this.rehash(user, input.password);
    const refusal = signInRefusal(signInStateOf(user), this.deps.config.requireEmailVerification);
    if (refusal) throw refusal;
    return user;
  }

  /**
   * Opens a session for a user whose credentials (and MFA, if any) were checked: the session, its
   * refresh token family and the `auth.login_succeeded` outbox row in one statement (OPEN_SESSION:
   * one round trip, atomic by itself), then the event is enqueued after that commit.
   * Only while the user is still as `user` says (the token version the caller read, active, no
   * reset required, verified if required): a revocation, suspension or reset committed since the
   * password was checked refuses the sign-in instead of leaving a session behind it (G6).
   */
  async openSession(user: User, input: { organizationId?: string; deviceName?: string }, ctx: RequestContext): Promise<SignedIn> {
    const context = input.organizationId !== undefined ? await activeMembership(user.id, input.organizationId) : undefined;
    const now = Date.now();
    const { idleTtl, absoluteTtl } = this.deps.config.refresh;
    const session = { id: randomUUID(), idleExpiresAt: new Date(now + idleTtl * 1000), expiresAt: new Date(now + absoluteTtl * 1000) };
    const refreshToken = randomSecret(32);
    const event = buildEvent({
      type: 'auth.login_succeeded',
      source: 'api',
      actor: { type: 'user', id: user.id },
      requestId: ctx.requestId,
      ip: ctx.ip,
      userAgent: ctx.userAgent,
      data: { userId: user.id, sessionId: session.id, ...(context ? { organizationId: context.organization.id } : {}) },
    });
    // One statement, so a deadlock with a worker's batch (membership locked, then the user) is
    // simply run again.
    const [opened] = await retryingDeadlocks(() => rawQuery<OpenSessionRow>(this.deps.db, {
      name: 'lk_login_open_session',
      text: OPEN_SESSION,
      values: [
        session.id,
        user.id,
        context?.organization.id ?? null,
        context?.membership.id ?? null,
        input.deviceName ?? null,
        ctx.userAgent ?? null,
        ctx.ip ?? null,
        session.idleExpiresAt,
        session.expiresAt,
        sha256(refreshToken),
        event.id,
        event.type,
        event.occurredAt,
        event.source,
        event.actor.type,
        event.actor.id,
        event.requestId ?? null,
        event.ip ?? null,
        event.userAgent ?? null,
        JSON.stringify(event.data),
        user.tokenVersion,
        this.deps.config.requireEmailVerification,
      ],
    }));
    if (!opened?.opened) {
      // The user changed between the password check and now (or is gone): refuse as the changed
      // state would have been refused at the password step; a moved token version means the
      // password proof itself is stale. Nothing was written.
      throw (opened && signInRefusal(signInStateOf(opened), this.deps.config.requireEmailVerification)) ?? staleProof();
    }
    publishAfterCommit(this.deps, [event]);
    return {
      user: toPublicUser(user),
      session,
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

  /**
   * Upgrades the stored hash of the password just verified, only while it is still the hash that
   * was verified: a password change or reset committed since then keeps its new password instead
   * of having the old one written back.
   */
  private async rehash(user: User, password: string): Promise<void> {
    const verified = user.passwordHash;
    const passwordHash = await hashPassword(password);
    await rawQuery(this.deps.db, {
      name: 'lk_login_rehash',
      text: 'UPDATE users SET password_hash = $3::text, updated_at = now() WHERE id = $1::uuid AND password_hash = $2::text',
      values: [user.id, verified, passwordHash],
    });
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

/** What OPEN_SESSION returns: the user row as locked (its newest version), and whether the session was opened. */
interface OpenSessionRow {
  status: 'active' | 'suspended';
  passwordResetRequired: boolean;
  emailVerifiedAt: Date | null;
  opened: boolean;
}

/**
 * A sign-in's writes in one statement: the session, the first refresh token of its family (only
 * its hash; no parent) and the outbox row of `auth.login_succeeded` (as insertOutboxEvent writes
 * it; no idempotency key). Data-modifying CTEs all run, in one snapshot, and commit or fail together.
 *
 * The user row is locked FOR SHARE first and the inserts happen only if it still has the token
 * version the caller read ($21), is active, needs no password reset and, when required ($22), is
 * verified. Every user-wide revocation locks that row (FOR UPDATE, or by updating it) in a statement
 * before the one that revokes sessions (Revocations.lockBumpAndRevoke, which the API and the workers
 * use; the password change and reset lock earlier still), and bumps the version, so:
 * - a revocation that locked first makes this statement wait; under READ COMMITTED the lock then
 *   returns the row as the revocation committed it, the conditions fail, and nothing is inserted;
 * - a sign-in that locked first commits its session before the revocation can lock, and the
 *   revocation's next statement sees that session and revokes it.
 * Either way no live session is left under a version older than the user's.
 */
const OPEN_SESSION = `
  WITH u AS (
    SELECT id, status, token_version, password_reset_required, email_verified_at FROM users WHERE id = $2::uuid FOR SHARE
  ),
  s AS (
    INSERT INTO sessions (id, user_id, organization_id, membership_id, device_name, user_agent, ip, idle_expires_at, expires_at)
    SELECT $1::uuid, id, $3::uuid, $4::uuid, $5::text, $6::text, $7::text, $8::timestamptz, $9::timestamptz FROM u
    WHERE token_version = $21::integer AND status = 'active' AND NOT password_reset_required
      AND (email_verified_at IS NOT NULL OR NOT $22::boolean)
    RETURNING id
  ),
  rt AS (
    INSERT INTO refresh_tokens (session_id, token_hash) SELECT id, $10::bytea FROM s
  ),
  ev AS (
    INSERT INTO events (id, type, version, occurred_at, source, actor_type, actor_id, request_id, ip, user_agent, data)
    SELECT $11::uuid, $12::text, 1, $13::timestamptz, $14::text, $15::text, $16::text, $17::text, $18::text, $19::text, $20::jsonb FROM s
  )
  SELECT u.status, u.password_reset_required AS "passwordResetRequired", u.email_verified_at AS "emailVerifiedAt",
    EXISTS (SELECT 1 FROM s) AS opened
  FROM u`;

let userByEmailSql: string | undefined;

/**
 * The user with that normalised email, as `User.findOne` loads it (every attribute, a persisted
 * instance that `update` can save), in one prepared statement without Sequelize's query building.
 */
async function userByEmail(db: Sequelize, emailNormalized: string): Promise<User | null> {
  userByEmailSql ??= `SELECT ${Object.entries(User.getAttributes())
    .map(([name, a]) => `"${a.field ?? name}" AS "${name}"`)
    .join(', ')} FROM users WHERE email_normalized = $1`;
  const [row] = await rawQuery<Record<string, unknown>>(db, { name: 'lk_login_user_by_email', text: userByEmailSql, values: [emailNormalized] });
  return row ? User.build(row as never, { isNewRecord: false, raw: true }) : null;
}

/** Awaits every promise; throws the first rejection in array order (not in settling order). */
async function firstRejection<T extends readonly unknown[]>(promises: { [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const settled = await Promise.allSettled(promises);
  for (const outcome of settled) if (outcome.status === 'rejected') throw outcome.reason;
  return settled.map((outcome) => (outcome as PromiseFulfilledResult<unknown>).value) as unknown as T;
}

/** After a few failures each further one is answered more slowly (at most 5 s), capping guesses. */
async function progressiveDelay(failures: number): Promise<void> {
  if (failures <= 3) return;
  await new Promise((resolve) => setTimeout(resolve, Math.min(5_000, 250 * 2 ** (failures - 4))));
}

/**
 * The active membership of a user in an active organization, or 403 forbidden. An id that is not
 * a uuid names no organization: forbidden too, without a query (Postgres would refuse it as a uuid).
 */
export async function activeMembership(userId: string, organizationId: string): Promise<{ membership: Membership; organization: Organization }> {
  const notAMember = () => new AppError('forbidden', { publicDetail: 'Not an active member of an active organization with that id.' });
  if (!isUuid(organizationId)) throw notAMember();
  const [membership, organization] = await Promise.all([
    Membership.findOne({ where: { userId, organizationId, status: 'active' } }),
    Organization.findByPk(organizationId),
  ]);
  if (!membership || !organization || organization.status !== 'active') throw notAMember();
  return { membership, organization };
}
