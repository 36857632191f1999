import { QueryTypes, type Sequelize } from 'sequelize';
import { MISSING_USER, REVOKED_SESSION, type AuthState } from './auth-state';

interface Row {
  token_version: number | null;
  user_status: 'active' | 'suspended' | null;
  session_found: boolean;
  session_revoked: boolean | null;
  session_expires_at: Date | null;
  permissions_version: number | null;
  membership_status: 'active' | 'removed' | null;
  organization_id: string | null;
  organization_status: 'active' | 'suspended' | null;
}

const AUTH_STATE_SQL = `
  SELECT u.token_version, u.status AS user_status,
         s.id IS NOT NULL AS session_found, s.revoked_at IS NOT NULL AS session_revoked,
         LEAST(s.expires_at, s.idle_expires_at) AS session_expires_at,
         m.permissions_version, m.status AS membership_status, m.organization_id, o.status AS organization_status
  FROM (SELECT 1) AS one
  LEFT JOIN users u ON u.id = :userId
  LEFT JOIN sessions s ON s.id = :sessionId AND s.user_id = u.id
  LEFT JOIN memberships m ON m.id = :membershipId AND m.user_id = u.id
  LEFT JOIN organizations o ON o.id = m.organization_id`;

/** Reads the durable verification state of (user, session, membership) from Postgres in one query. */
export async function loadAuthState(
  db: Sequelize,
  userId: string,
  sessionId: string,
  membershipId?: string,
): Promise<AuthState> {
  const [row] = await db.query<Row>(AUTH_STATE_SQL, {
    type: QueryTypes.SELECT,
    replacements: { userId, sessionId, membershipId: membershipId ?? null },
  });
  const user = row?.user_status ? { tokenVersion: row.token_version!, status: row.user_status } : MISSING_USER;
  const session =
    row?.session_found && !row.session_revoked
      ? { version: 0 as const, revoked: false, expiresAt: Math.floor(row.session_expires_at!.getTime() / 1000) }
      : REVOKED_SESSION;
  if (!membershipId) return { user, session };
  const membership = row?.membership_status
    ? {
        permissionsVersion: row.permissions_version!,
        status: row.membership_status,
        organizationId: row.organization_id!,
        organizationStatus: row.organization_status ?? ('none' as const),
      }
    : { permissionsVersion: 0, status: 'none' as const, organizationId: '', organizationStatus: 'none' as const };
  return { user, session, membership };
}
