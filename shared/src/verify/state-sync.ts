import { QueryTypes, type Sequelize } from 'sequelize';
import { rawQuery } from '../db/raw-connection';
import { REVOKED_SESSION, type MembershipState } from './auth-state';
import { perTurn } from '../util/per-turn';
import type { Fence, StateCache } from './state-cache';

/** How far back revoked sessions are re-marked in Redis (longer than any access token lives). */
const REVOKED_LOOKBACK_SECONDS = 24 * 3600;

interface MembershipRow {
  id: string;
  user_id: string;
  organization_id: string;
  status: 'active' | 'removed';
  permissions_version: number;
  organization_status: 'active' | 'suspended';
}

const toMembershipState = (m: MembershipRow): MembershipState => ({
  permissionsVersion: m.permissions_version,
  status: m.status,
  organizationId: m.organization_id,
  organizationStatus: m.organization_status,
});

/**
 * Rewrites Redis from Postgres, the durable truth. Writes never lower a stored version, so a
 * rebuild racing a newer change cannot undo it, and each user's fence is taken before the read, so
 * a rebuild racing a flush cannot bring back what the flush removed (StateCache.fence). Used by the workers after every event, by
 * `cache rebuild`, and after Redis is found flushed or restored from an old snapshot.
 */
export class StateSync {
  constructor(
    private readonly db: Sequelize,
    private readonly cache: StateCache,
  ) {}

  /**
   * Rewrites a user's whole state (versions, status, sessions, memberships). Calls made in one turn
   * of the event loop are served together (one statement for all their users, one pipeline per
   * user); a call made while such a read is running waits for the next one, so what it writes was
   * read after the call.
   */
  readonly user: (userId: string) => Promise<void> = perTurn((userIds: string[]) => this.users([...new Set(userIds.map((id) => id.toLowerCase()))]));

  /** Rewrites the state of these users, read in one statement. */
  private async users(userIds: string[]): Promise<void> {
    const fences = await this.fences(userIds);
    const users = await rawQuery<{
      id: string;
      token_version: number;
      status: 'active' | 'suspended';
      sessions: Array<{ id: string; revoked: boolean; expires_at: number }>;
      memberships: MembershipRow[];
    }>(this.db, {
      name: 'lk_state_users',
      text: `SELECT u.id, u.token_version, u.status,
         COALESCE((SELECT json_agg(json_build_object('id', s.id, 'revoked', s.revoked_at IS NOT NULL,
             'expires_at', floor(extract(epoch FROM LEAST(s.expires_at, s.idle_expires_at)))::bigint))
           FROM sessions s
           WHERE s.user_id = u.id AND (s.revoked_at IS NULL OR s.revoked_at > now() - make_interval(secs => $2::int))), '[]') AS sessions,
         COALESCE((SELECT json_agg(json_build_object('id', m.id, 'user_id', m.user_id, 'organization_id', m.organization_id,
             'status', m.status, 'permissions_version', m.permissions_version, 'organization_status', o.status))
           FROM memberships m JOIN organizations o ON o.id = m.organization_id WHERE m.user_id = u.id), '[]') AS memberships
       FROM users u WHERE u.id = ANY($1::uuid[])`,
      values: [userIds, REVOKED_LOOKBACK_SECONDS],
    });
    await Promise.all(
      users.map((user) =>
        this.cache.writeUserState(user.id, {
          user: { tokenVersion: user.token_version, status: user.status },
          sessions: user.sessions.map((s) => ({
            id: s.id,
            state: s.revoked ? REVOKED_SESSION : { version: 0 as const, revoked: false, expiresAt: s.expires_at },
          })),
          memberships: user.memberships.map((m) => ({ membershipId: m.id, state: toMembershipState(m) })),
        }, fenceOf(fences, user.id)),
      ),
    );
  }

  /**
   * Every membership of an organization (status, permissions version, organization status), for
   * the members known before the fences were taken (a member added since is read through).
   */
  async organization(organizationId: string): Promise<void> {
    const members = await this.db.query<{ user_id: string }>('SELECT DISTINCT user_id FROM memberships WHERE organization_id = :id', {
      type: QueryTypes.SELECT,
      replacements: { id: organizationId },
    });
    const fences = await this.fences(members.map((m) => m.user_id));
    const memberships = await this.db.query<MembershipRow>(
      `SELECT m.id, m.user_id, m.organization_id, m.status, m.permissions_version, o.status AS organization_status
       FROM memberships m JOIN organizations o ON o.id = m.organization_id WHERE m.organization_id = :id`,
      { type: QueryTypes.SELECT, replacements: { id: organizationId } },
    );
    await this.cache.writeMemberships(
      memberships
        .filter((m) => fences.has(m.user_id))
        .map((m) => ({ userId: m.user_id, membershipId: m.id, state: toMembershipState(m), fence: fences.get(m.user_id) })),
    );
  }

  /** The fence of each user, taken before their state is read (one command each: users' keys live on different slots). */
  private async fences(userIds: string[]): Promise<Map<string, Fence>> {
    return new Map(await Promise.all(userIds.map(async (id) => [id, await this.cache.fence(id)] as const)));
  }

  /** Every user, in batches. */
  async all(batchSize = 500): Promise<number> {
    let after = '00000000-0000-0000-0000-000000000000';
    let count = 0;
    for (;;) {
      const rows = await this.db.query<{ id: string }>('SELECT id FROM users WHERE id > :after ORDER BY id LIMIT :limit', {
        type: QueryTypes.SELECT,
        replacements: { after, limit: batchSize },
      });
      if (rows.length === 0) return count;
      await this.users(rows.map((r) => r.id));
      count += rows.length;
      after = rows[rows.length - 1]!.id;
    }
  }
}

/** A user's fence; never none (a write of what Postgres said without one would not be fenced). */
function fenceOf(fences: Map<string, Fence>, userId: string): Fence {
  const fence = fences.get(userId);
  if (fence === undefined) throw new Error(`no fence taken for user ${userId}`);
  return fence;
}
