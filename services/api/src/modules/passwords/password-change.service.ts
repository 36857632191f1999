import { QueryTypes, type Transaction } from 'sequelize';
import { retryingDeadlocks } from '../../../../../shared/src/db/deadlock-retry';
import { AppError } from '../../../../../shared/src/errors/app-error';
import { buildEvent, insertOutboxEvent } from '../../../../../shared/src/events/outbox';
import { hashPassword, verifyPassword } from '../../../../../shared/src/security/passwords';
import { sha256 } from '../../../../../shared/src/tokens/sealing';
import type { ApiDeps } from '../../deps';
import type { RequestContext } from '../../http/request-context';
import { RefreshTokensRepository } from '../auth/refresh-tokens.repository';
import { toPublicUser, type SignedIn } from '../auth/token-response';
import { afterPasswordCommit } from './password-notices';

interface SessionContext {
  id: string;
  idle_expires_at: Date;
  expires_at: Date;
  organization_id: string | null;
  organization_name: string | null;
  membership_id: string | null;
  permissions_version: number | null;
  usable_in_org: boolean;
}

/**
 * `POST /auth/password/change` (G1): in one transaction the password is replaced, the token
 * version bumped, every other family revoked (the current one too unless kept) and the
 * `user.password_changed` event written to the outbox; after commit Redis is written through
 * before answering, so every old access token (this device's included) is refused at once.
 * The kept session gets a fresh access token and a rotated refresh token: a copied cookie of it
 * stops working, while a tab racing this request with the same cookie gets the new one.
 */
export class PasswordChangeService {
  private readonly tokens: RefreshTokensRepository;
  constructor(private readonly deps: ApiDeps) {
    this.tokens = new RefreshTokensRepository(deps.db);
  }

  async change(
    auth: { sub: string; sid: string },
    input: { currentPassword: string; newPassword: string; keepCurrentSession: boolean },
    presentedCookie: string | undefined,
    ctx: RequestContext,
  ): Promise<SignedIn | undefined> {
    const { db, revocations } = this.deps;
    const current = await db.query<{ password_hash: string }>('SELECT password_hash FROM users WHERE id = :id', {
      type: QueryTypes.SELECT,
      replacements: { id: auth.sub },
    });
    if (!current[0] || !(await verifyPassword(current[0].password_hash, input.currentPassword))) {
      throw new AppError('forbidden', { publicDetail: 'The current password is not correct.' });
    }
    if (await verifyPassword(current[0].password_hash, input.newPassword)) {
      throw new AppError('validation_failed', { publicDetail: 'Invalid or missing: newPassword (must differ from the current one)' });
    }
    const passwordHash = await hashPassword(input.newPassword);
    const keep = input.keepCurrentSession ? auth.sid : undefined;
    const event = buildEvent({
      type: 'user.password_changed',
      source: 'api',
      actor: { type: 'user', id: auth.sub },
      requestId: ctx.requestId,
      ip: ctx.ip,
      userAgent: ctx.userAgent,
      data: { userId: auth.sub, ...(keep ? { keepSessionId: keep } : {}) },
    });
    const outcome = await retryingDeadlocks(() => db.transaction(async (t) => {
      const [user] = await db.query<{ id: string; email: string; name: string | null; email_verified_at: Date | null; password_hash: string }>(
        'SELECT id, email, name, email_verified_at, password_hash FROM users WHERE id = :id FOR UPDATE',
        { type: QueryTypes.SELECT, transaction: t, replacements: { id: auth.sub } },
      );
      // A concurrent change won the race: this request's proof of the current password is stale.
      if (!user || user.password_hash !== current[0]!.password_hash) throw new AppError('conflict', { publicDetail: 'The password was changed meanwhile.' });
      await db.query('UPDATE users SET password_hash = :hash, password_reset_required = false, updated_at = now() WHERE id = :id', {
        transaction: t,
        replacements: { id: auth.sub, hash: passwordHash },
      });
      const revoked = await revocations.bumpAndRevoke(t, auth.sub, keep ? { allExcept: keep } : {}, 'password_changed');
      await insertOutboxEvent(db, t, event);
      const kept = keep ? await this.keptSession(t, auth.sub, keep, presentedCookie) : undefined;
      return { user, revoked, kept };
    }));
    await afterPasswordCommit(this.deps, outcome.revoked, event, outcome.user.email);
    if (!outcome.kept) return undefined;
    const { session, refreshToken } = outcome.kept;
    const inOrg = session.usable_in_org && session.organization_id && session.membership_id;
    return {
      user: toPublicUser(outcome.user),
      session: { id: session.id, idleExpiresAt: session.idle_expires_at, expiresAt: session.expires_at },
      token: {
        tokenVersion: outcome.revoked.user!.tokenVersion,
        ...(inOrg ? { organizationId: session.organization_id!, membershipId: session.membership_id!, permissionsVersion: session.permissions_version! } : {}),
      },
      ...(inOrg ? { organization: { id: session.organization_id!, name: session.organization_name! } } : {}),
      refreshToken,
    };
  }

  /**
   * Locks the kept session and rotates its family: every unused token is retired, one new one
   * issued. The token the presented cookie leads to (the cookie itself, or the successor a tab's
   * refresh racing this request got for it) keeps the new one sealed, as a rotation does: that tab
   * presenting it within the grace window gets the new token instead of signing the session out.
   */
  private async keptSession(t: Transaction, userId: string, sessionId: string, cookie: string | undefined) {
    const { db } = this.deps;
    const [session] = await db.query<SessionContext>(
      `SELECT s.id, s.idle_expires_at, s.expires_at, s.organization_id, o.name AS organization_name, s.membership_id,
              m.permissions_version, (m.status = 'active' AND o.status = 'active') AS usable_in_org
       FROM sessions s LEFT JOIN memberships m ON m.id = s.membership_id LEFT JOIN organizations o ON o.id = s.organization_id
       WHERE s.id = :sessionId AND s.user_id = :userId AND s.revoked_at IS NULL FOR UPDATE OF s`,
      { type: QueryTypes.SELECT, transaction: t, replacements: { sessionId, userId } },
    );
    if (!session) throw new AppError('session_revoked');
    const unused = await db.query<{ id: string; token_hash: Buffer }>(
      'SELECT id, token_hash FROM refresh_tokens WHERE session_id = :sessionId AND used_at IS NULL FOR UPDATE',
      { type: QueryTypes.SELECT, transaction: t, replacements: { sessionId } },
    );
    const successor = await this.tokens.issue(t, sessionId, unused[0]?.id ?? null);
    const held = cookie ? await this.heldToken(t, sessionId, cookie) : undefined;
    const heldHash = held ? sha256(held) : undefined;
    for (const row of unused) {
      if (heldHash && row.token_hash.equals(heldHash)) await this.tokens.markUsed(t, { id: row.id, token: held! }, successor.token);
      else await db.query('UPDATE refresh_tokens SET used_at = now() WHERE id = :id', { transaction: t, replacements: { id: row.id } });
    }
    return { session, refreshToken: successor.token };
  }

  /** The unused token of this session that `cookie` is, or that its rotations within the grace window lead to. */
  private async heldToken(t: Transaction, sessionId: string, cookie: string): Promise<string | undefined> {
    const row = await this.tokens.lock(t, cookie);
    if (!row || row.session_id !== sessionId) return undefined;
    if (!row.used_at) return cookie;
    const graceMs = this.deps.config.refresh.graceSeconds * 1000;
    if (row.used_ms_ago! > graceMs) return undefined; // by Postgres's clock, which set used_at
    return (await this.tokens.followSuccessors(t, row, cookie, graceMs))?.token;
  }
}
