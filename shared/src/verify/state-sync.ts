import { QueryTypes, type Sequelize } from 'sequelize';
import { REVOKED_SESSION, type MembershipState } from './auth-state';
import type { StateCache } from './state-cache';

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
 * rebuild racing a newer change cannot undo it. Used by the workers after every event, by
 * `cache rebuild`, and after Redis is found flushed or restored from an old snapshot.
 */
export class StateSync {
  constructor(
    private readonly db: Sequelize,
    private readonly cache: StateCache,
  ) {}

  async user(userId: string): Promise<void> {
    const [user] = await this.db.query<{ token_version: number; status: 'active' | 'suspended' }>(
      'SELECT token_version, status FROM users WHERE id = :userId',
      { type: QueryTypes.SELECT, replacements: { userId } },
    );
    if (!user) return;
    const sessions = await this.db.query<{ id: string; revoked: boolean; expires_at: Date }>(
      `SELECT id, revoked_at IS NOT NULL AS revoked, expires_at FROM sessions
       WHERE user_id = :userId AND (revoked_at IS NULL OR revoked_at > now() - make_interval(secs => :lookback))`,
      { type: QueryTypes.SELECT, replacements: { userId, lookback: REVOKED_LOOKBACK_SECONDS } },
    );
    const memberships = await this.memberships('m.user_id = :id', userId);
    await Promise.all([
      this.cache.writeUser(userId, { tokenVersion: user.token_version, status: user.status }),
      this.cache.writeSessions(
        userId,
        sessions.map((s) => ({
          id: s.id,
          state: s.revoked ? REVOKED_SESSION : { version: 0 as const, revoked: false, expiresAt: Math.floor(s.expires_at.getTime() / 1000) },
        })),
      ),
      this.cache.writeMemberships(memberships.map((m) => ({ userId: m.user_id, membershipId: m.id, state: toMembershipState(m) }))),
    ]);
  }

  /** Every membership of an organization (status, permissions version, organization status). */
  async organization(organizationId: string): Promise<void> {
    const memberships = await this.memberships('m.organization_id = :id', organizationId);
    await this.cache.writeMemberships(memberships.map((m) => ({ userId: m.user_id, membershipId: m.id, state: toMembershipState(m) })));
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
      for (const row of rows) await this.user(row.id);
      count += rows.length;
      after = rows[rows.length - 1]!.id;
    }
  }

  private memberships(where: string, id: string): Promise<MembershipRow[]> {
    return this.db.query<MembershipRow>(
      `SELECT m.id, m.user_id, m.organization_id, m.status, m.permissions_version, o.status AS organization_status
       FROM memberships m JOIN organizations o ON o.id = m.organization_id WHERE ${where}`,
      { type: QueryTypes.SELECT, replacements: { id } },
    );
  }
}
