import { QueryTypes, type Sequelize, type Transaction } from 'sequelize';
import { rawQueryIn } from '../db/raw-connection';
import { AppError } from '../errors/app-error';
import type { MembershipState } from '../verify/auth-state';

/**
 * The Postgres changes behind role changes, removals, suspensions and permission changes, shared by
 * the API (synchronous paths) and the workers (event handlers), so both bump versions the same way.
 * Every change bumps `permissions_version`: tokens and Redis values are versioned by it, and Redis
 * writes never lower a version, so a change without a bump could not reach the cache.
 */

/** A membership as its changes need it. */
export interface LockedMembership {
  id: string;
  role: string;
  status: 'active' | 'removed';
  permissions_version: number;
  /** Whether the role asked about exists for the organization (true when none was asked about). */
  role_exists: boolean;
}

/** A membership as a change found it, and its verification state after the change. */
export interface ChangedMembership extends LockedMembership {
  /** Undefined when nothing changed (a role change of an inactive membership or to an unknown role). */
  after?: MembershipState;
}

/**
 * Changes a user's membership of an organization in one statement (one round trip), bumping its
 * permissions version: locks the organization row `FOR SHARE` (as `lockOrganization(..., 'share')`,
 * taken first) and the membership row `FOR UPDATE`, then
 * - `{ role }`: sets the role, only when the membership is active and the role exists for the
 *   organization (`role_exists`; otherwise nothing changes, for the caller to refuse);
 * - `'remove'`: marks it removed.
 * Under READ COMMITTED a statement that waited for the lock sees the row as the other transaction
 * left it, and so does its UPDATE. Returns the membership as it was before, with the new version;
 * refuses an unknown organization or membership (not_found).
 */
export async function changeMembership(
  db: Sequelize,
  t: Transaction,
  organizationId: string,
  userId: string,
  change: { role: string } | 'remove',
): Promise<ChangedMembership> {
  const role = change === 'remove' ? null : change.role;
  const [row] = await rawQueryIn<LockedMembership & { organization_status: 'active' | 'suspended'; new_permissions_version: number | null }>(db, t, {
    name: 'lk_membership_change',
    text: `WITH m AS (
       SELECT m.id, m.role, m.status, m.permissions_version, o.status AS organization_status,
         ($3::text IS NULL OR EXISTS (SELECT 1 FROM roles r WHERE r.name = $3::text AND (r.organization_id = o.id OR r.organization_id IS NULL))) AS role_exists
       FROM organizations o JOIN memberships m ON m.organization_id = o.id AND m.user_id = $2::uuid
       WHERE o.id = $1::uuid FOR SHARE OF o FOR UPDATE OF m
     ),
     changed AS (
       UPDATE memberships SET role = COALESCE($3::text, role), status = CASE WHEN $3::text IS NULL THEN 'removed' ELSE status END,
         permissions_version = permissions_version + 1, updated_at = now()
       WHERE id = (SELECT id FROM m WHERE $3::text IS NULL OR (status = 'active' AND role_exists))
       RETURNING permissions_version
     )
     SELECT m.*, (SELECT permissions_version FROM changed) AS new_permissions_version FROM m`,
    values: [organizationId, userId, role],
  });
  if (row) {
    const { organization_status: organizationStatus, new_permissions_version: permissionsVersion, ...before } = row;
    if (permissionsVersion === null) return before;
    return { ...before, after: { permissionsVersion, status: role === null ? 'removed' : before.status, organizationId, organizationStatus } };
  }
  await lockOrganization(db, t, organizationId, 'share');
  throw new AppError('not_found', { detail: `no membership of user ${userId} in organization ${organizationId}` });
}

/**
 * Refuses an unknown organization and locks its row for the rest of the transaction. Changes to
 * the whole organization (suspension, permission changes) take it `update`; changes to one
 * membership take it `share`: they wait for, and hold off, the organization-wide ones, but not
 * each other (each then locks its own membership row).
 */
export async function lockOrganization(
  db: Sequelize,
  t: Transaction,
  organizationId: string,
  mode: 'update' | 'share' = 'update',
): Promise<{ id: string; status: 'active' | 'suspended' }> {
  const [row] = await rawQueryIn<{ id: string; status: 'active' | 'suspended' }>(db, t, {
    name: `lk_organization_lock_${mode}`,
    text: `SELECT id, status FROM organizations WHERE id = $1::uuid ${mode === 'share' ? 'FOR SHARE' : 'FOR UPDATE'}`,
    values: [organizationId],
  });
  if (!row) throw new AppError('not_found', { detail: `organization ${organizationId} does not exist` });
  return row;
}

/** True when `role` is a built-in role or a custom role of that organization. */
export async function roleExists(db: Sequelize, t: Transaction | null, organizationId: string, role: string): Promise<boolean> {
  const rows = await rawQueryIn(db, t, {
    name: 'lk_role_exists',
    text: 'SELECT 1 FROM roles WHERE name = $2::text AND (organization_id = $1::uuid OR organization_id IS NULL) LIMIT 1',
    values: [organizationId, role],
  });
  return rows.length > 0;
}

/** Sets an organization's status; returns the status it had before. */
export async function setOrganizationStatus(
  db: Sequelize,
  t: Transaction,
  organizationId: string,
  status: 'active' | 'suspended',
): Promise<'active' | 'suspended'> {
  const before = await lockOrganization(db, t, organizationId);
  await db.query('UPDATE organizations SET status = :status, updated_at = now() WHERE id = :organizationId', {
    transaction: t,
    replacements: { organizationId, status },
  });
  return before.status;
}

/**
 * Sets a suspended organization back to active and bumps every membership's permissions version,
 * under the organization's row lock (`lockOrganization`), taken in a statement of its own: a
 * statement sees only what was committed when it started, and one that waited for the lock inside
 * itself would miss a membership committed meanwhile (as Revocations.lockBumpAndRevoke explains).
 * Both statements are sent at once (one round trip in the worker's pipeline mode). Only a
 * suspended organization changes: an active one is left as it is, its members' tokens untouched.
 * Returns the status it had before and how many memberships were bumped; refuses an unknown
 * organization (not_found).
 */
export async function reinstateOrganization(
  db: Sequelize,
  t: Transaction,
  organizationId: string,
): Promise<{ previousStatus: 'active' | 'suspended'; memberships: number }> {
  const locked = lockOrganization(db, t, organizationId);
  const changed = rawQueryIn<{ status: 'active' | 'suspended'; memberships: number }>(db, t, {
    name: 'lk_organization_reinstate',
    text: `WITH before AS (SELECT id, status FROM organizations WHERE id = $1::uuid FOR UPDATE),
       reinstated AS (
         UPDATE organizations SET status = 'active', updated_at = now()
         WHERE id = (SELECT id FROM before) AND status = 'suspended' RETURNING id
       ),
       bumped AS (
         UPDATE memberships SET permissions_version = permissions_version + 1, updated_at = now()
         WHERE organization_id = (SELECT id FROM reinstated) RETURNING 1
       )
       SELECT before.status, (SELECT count(*) FROM bumped)::int AS memberships FROM before`,
    values: [organizationId],
  });
  const [, [row]] = await Promise.all([locked, changed]);
  return { previousStatus: row!.status, memberships: row!.memberships };
}

/**
 * Bumps the permissions version of every membership of an organization, or only of those holding
 * `role` when given. Returns how many memberships were bumped.
 */
export async function bumpOrganizationPermissions(
  db: Sequelize,
  t: Transaction,
  organizationId: string,
  role?: string,
): Promise<number> {
  const rows = await db.query(
    `UPDATE memberships SET permissions_version = permissions_version + 1, updated_at = now()
     WHERE organization_id = :organizationId ${role ? 'AND role = :role' : ''} RETURNING id`,
    { type: QueryTypes.SELECT, transaction: t, replacements: { organizationId, role: role ?? null } },
  );
  return rows.length;
}

/**
 * Bumps every membership of an organization except those already bumped in the very transaction
 * that recorded the event `eventId` in the outbox (same `now()`): the API's role update bumps the
 * holders of the changed role synchronously, and bumping them again would make them refresh twice.
 * An event without an outbox row (or from another transaction) bumps every membership.
 */
export async function bumpOrganizationPermissionsOnce(
  db: Sequelize,
  t: Transaction,
  organizationId: string,
  eventId: string,
): Promise<number> {
  const rows = await db.query(
    `UPDATE memberships SET permissions_version = permissions_version + 1, updated_at = now()
     WHERE organization_id = :organizationId
       AND updated_at IS DISTINCT FROM (SELECT created_at FROM events WHERE id = :eventId)
     RETURNING id`,
    { type: QueryTypes.SELECT, transaction: t, replacements: { organizationId, eventId } },
  );
  return rows.length;
}
