import { retryingDeadlocks } from '../../../../../shared/src/db/deadlock-retry';
import type { ErrorCode } from '../../../../../shared/src/errors/codes';
import { buildEvent, insertOutboxEvent } from '../../../../../shared/src/events/outbox';
import type { SecurityEvent } from '../../../../../shared/src/events/schemas';
import type { RevocationResult } from '../../../../../shared/src/security/revocations';
import type { ApiDeps } from '../../deps';
import type { RequestContext } from '../../http/request-context';
import { afterRevocationCommit } from '../sessions/after-revocation-commit';
import { RefreshTokensRepository, type RefreshRow } from './refresh-tokens.repository';
import { toPublicUser, type SignedIn } from './token-response';

type RefreshRefusal = Extract<
  ErrorCode,
  'refresh_token_invalid' | 'session_revoked' | 'session_expired' | 'refresh_token_reused' | 'user_suspended' | 'organization_suspended' | 'membership_inactive'
>;

export type RefreshOutcome = { ok: true; signedIn: SignedIn } | { ok: false; code: RefreshRefusal };

/**
 * Refresh-token rotation with reuse detection (contract section 2).
 * - an unused token is rotated: marked used, successor issued in the same family;
 * - a used token within the grace window yields the same successor (racing tabs stay signed in);
 *   one without a successor to follow (a password change retired it) is refused, nothing revoked;
 * - a used token after the window revokes the whole family, at once, and raises an alert event.
 * The token row and its session are locked, so rotation, reuse and revocation are serialised.
 */
export class RefreshService {
  private readonly repo: RefreshTokensRepository;
  constructor(private readonly deps: ApiDeps) {
    this.repo = new RefreshTokensRepository(deps.db);
  }

  refresh(presented: string, ctx: RequestContext): Promise<RefreshOutcome> {
    return retryingDeadlocks(() => this.refreshOnce(presented, ctx));
  }

  private async refreshOnce(presented: string, ctx: RequestContext): Promise<RefreshOutcome> {
    // The common case, an unused token of a live family, in one statement (one round trip, no
    // transaction held open across round trips). Anything else it only reads, under the same lock.
    const now = Date.now();
    const fast = await this.repo.rotate(presented, now, this.deps.config.refresh.idleTtl);
    if (!fast) return { ok: false, code: 'refresh_token_invalid' };
    const { row, successor } = fast;
    if (row.rotated) return { ok: true, signedIn: toSignedIn({ ...row, idle_expires_at: row.slid_idle_expires_at! }, successor) };
    if (row.revoked_at) return { ok: false, code: 'session_revoked' };
    if (row.expires_at.getTime() <= now || row.idle_expires_at.getTime() <= now) return { ok: false, code: 'session_expired' };
    if (!row.used_at) {
      const refusal = contextRefusal(row);
      if (refusal) return { ok: false, code: refusal };
    }
    // A used token (a racing tab within the grace window, or reuse after it): the transaction
    // below locks it again and decides, exactly as before the one-statement rotation existed.
    return this.refreshInTransaction(presented, ctx);
  }

  /** Rotation, grace-window successor or reuse handling, in one transaction holding the token's lock. */
  private async refreshInTransaction(presented: string, ctx: RequestContext): Promise<RefreshOutcome> {
    const { db, config } = this.deps;
    let revocation: RevocationResult | undefined;
    const events: SecurityEvent[] = [];
    const outcome = await db.transaction(async (t): Promise<RefreshOutcome> => {
      const row = await this.repo.lock(t, presented);
      if (!row) return { ok: false, code: 'refresh_token_invalid' };
      if (row.revoked_at) return { ok: false, code: 'session_revoked' };
      const now = Date.now();
      if (row.expires_at.getTime() <= now || row.idle_expires_at.getTime() <= now) return { ok: false, code: 'session_expired' };
      if (row.used_at) {
        const graceMs = config.refresh.graceSeconds * 1000;
        // Measured by Postgres, whose clock set used_at: an API host's clock ahead of it must not
        // turn a racing tab into a reuse (G6).
        if (row.used_ms_ago! <= graceMs) {
          // Within the window a token is never taken for stolen: the successor, or a plain refusal
          // when there is none to follow (the family lives on under the token that retired it).
          const successor = await this.repo.followSuccessors(t, row, presented, graceMs);
          if (!successor) return { ok: false, code: 'refresh_token_invalid' };
          const refusal = contextRefusal(successor.row);
          return refusal ? { ok: false, code: refusal } : { ok: true, signedIn: toSignedIn(successor.row, successor.token) };
        }
        const revokedSessionIds = await this.deps.revocations.revokeSessions(t, row.user_id, { sessionIds: [row.session_id] }, 'refresh_token_reused');
        revocation = { userId: row.user_id, revokedSessionIds };
        const event = buildEvent({
          type: 'refresh_token.reused',
          source: 'api',
          actor: { type: 'system', id: 'latchkey-api' },
          requestId: ctx.requestId,
          ip: ctx.ip,
          userAgent: ctx.userAgent,
          data: { sessionId: row.session_id, userId: row.user_id, ...(ctx.ip ? { ip: ctx.ip } : {}), ...(ctx.userAgent ? { userAgent: ctx.userAgent } : {}) },
        });
        await insertOutboxEvent(db, t, event);
        events.push(event);
        return { ok: false, code: 'refresh_token_reused' };
      }
      const refusal = contextRefusal(row);
      if (refusal) return { ok: false, code: refusal };

      const successor = await this.repo.issue(t, row.session_id, row.id);
      await this.repo.markUsed(t, { id: row.id, token: presented }, successor.token);
      const [[slid]] = (await db.query(
        `UPDATE sessions SET last_used_at = now(), idle_expires_at = LEAST(now() + make_interval(secs => :idle), expires_at)
         WHERE id = :id RETURNING idle_expires_at`,
        { transaction: t, replacements: { id: row.session_id, idle: config.refresh.idleTtl } },
      )) as unknown as [[{ idle_expires_at: Date }]];
      return { ok: true, signedIn: toSignedIn({ ...row, idle_expires_at: slid.idle_expires_at }, successor.token) };
    });
    await afterRevocationCommit(this.deps, revocation, events);
    return outcome;
  }
}

/** A session may refresh only while its user is active and, with an organization, its membership too. */
function contextRefusal(row: RefreshRow): RefreshRefusal | undefined {
  if (row.user_status !== 'active') return 'user_suspended';
  if (row.membership_id) {
    if (row.organization_status !== 'active') return row.organization_status === 'suspended' ? 'organization_suspended' : 'membership_inactive';
    if (row.membership_status !== 'active') return 'membership_inactive';
  }
  return undefined;
}

function toSignedIn(row: RefreshRow, refreshToken: string): SignedIn {
  const inOrg = row.membership_id && row.organization_id;
  return {
    user: toPublicUser({ id: row.user_id, email: row.email, name: row.name, email_verified_at: row.email_verified_at }),
    session: { id: row.session_id, idleExpiresAt: row.idle_expires_at, expiresAt: row.expires_at },
    token: {
      tokenVersion: row.token_version,
      ...(inOrg ? { organizationId: row.organization_id!, membershipId: row.membership_id!, permissionsVersion: row.permissions_version! } : {}),
    },
    ...(inOrg ? { organization: { id: row.organization_id!, name: row.organization_name! } } : {}),
    refreshToken,
  };
}
