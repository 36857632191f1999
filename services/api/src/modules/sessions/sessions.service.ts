import { Op, type Transaction } from 'sequelize';
import { Session } from '../../../../../shared/src/db/models';
import { AppError } from '../../../../../shared/src/errors/app-error';
import { buildEvent, insertOutboxEvent } from '../../../../../shared/src/events/outbox';
import type { SecurityEvent } from '../../../../../shared/src/events/schemas';
import type { RevocationResult } from '../../../../../shared/src/security/revocations';
import type { ApiDeps } from '../../deps';
import type { RequestContext } from '../../http/request-context';
import { afterRevocationCommit } from './after-revocation-commit';

/** A session as its owner sees it in `GET /sessions`. */
export interface SessionView {
  id: string;
  deviceName: string | null;
  userAgent: string | null;
  ip: string | null;
  createdAt: Date;
  lastUsedAt: Date;
  expiresAt: Date;
  current: boolean;
}

/**
 * Listing and synchronous revocation of sessions (G1): the change commits with its outbox event,
 * then the event is queued and Redis written through before the caller answers, so every API
 * process refuses at once.
 */
export class SessionsService {
  constructor(private readonly deps: ApiDeps) {}

  async list(userId: string, currentSessionId: string): Promise<SessionView[]> {
    const sessions = await Session.findAll({
      where: { userId, revokedAt: null, expiresAt: { [Op.gt]: new Date() }, idleExpiresAt: { [Op.gt]: new Date() } },
      order: [['lastUsedAt', 'DESC']],
      limit: 500,
    });
    return sessions.map((s) => ({
      id: s.id,
      deviceName: s.deviceName,
      userAgent: s.userAgent,
      ip: s.ip,
      createdAt: s.createdAt,
      lastUsedAt: s.lastUsedAt,
      expiresAt: new Date(Math.min(s.expiresAt.getTime(), s.idleExpiresAt.getTime())),
      current: s.id === currentSessionId,
    }));
  }

  /**
   * Revokes one of the user's own sessions; someone else's (or an unknown id) is a 404. The revoked
   * state is written through even when the session was revoked already: an earlier call may have
   * committed and then failed its write-through (503), and its retry must not answer 204 while
   * Redis still holds the session as live.
   */
  async revoke(userId: string, sessionId: string, reason: string, ctx: RequestContext): Promise<void> {
    await this.apply(userId, ctx, async (t) => {
      const session = await Session.findOne({ where: { id: sessionId, userId }, transaction: t, lock: t.LOCK.UPDATE });
      if (!session) throw new AppError('not_found');
      const revokedNow = await this.deps.revocations.revokeSessions(t, userId, { sessionIds: [sessionId] }, reason);
      return {
        result: { userId, revokedSessionIds: [sessionId] },
        event: !revokedNow.length
          ? undefined
          : reason === 'logout'
            ? { type: 'auth.logout' as const, data: { userId, sessionId } }
            : { type: 'session.revoked' as const, data: { sessionId, reason } },
      };
    });
  }

  /**
   * Signs the user out everywhere: token version bumped, every family revoked. A retry after a
   * failed write-through bumps again and writes the new version, which refuses every token issued
   * before either call, whatever Redis still holds for the sessions.
   */
  async revokeAll(userId: string, ctx: RequestContext): Promise<void> {
    await this.apply(userId, ctx, async (t) => {
      const result = await this.deps.revocations.bumpAndRevoke(t, userId, {}, 'logout_all');
      return { result, event: { type: 'user.logged_out_all' as const, data: { userId } } };
    });
  }

  private async apply(
    userId: string,
    ctx: RequestContext,
    change: (t: Transaction) => Promise<{
      result: RevocationResult;
      event?: Pick<SecurityEvent, 'type' | 'data'>;
    }>,
  ): Promise<void> {
    const { db } = this.deps;
    const events: SecurityEvent[] = [];
    const { result } = await db.transaction(async (t) => {
      const out = await change(t);
      if (out.event) {
        const event = buildEvent({
          ...(out.event as SecurityEvent),
          source: 'api',
          actor: { type: 'user', id: userId },
          requestId: ctx.requestId,
          ip: ctx.ip,
          userAgent: ctx.userAgent,
        });
        await insertOutboxEvent(db, t, event);
        events.push(event);
      }
      return out;
    });
    await afterRevocationCommit(this.deps, result, events);
  }
}
