import { QueryTypes, type Sequelize, type Transaction } from 'sequelize';
import { rawQueryIn } from '../db/raw-connection';
import { AppError } from '../errors/app-error';

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

/**
 * The membership of a user in an organization, locked for the rest of the transaction, in one
 * statement: the organization row `FOR SHARE` (as `lockOrganization(..., 'share')`, taken first),
 * the membership row `FOR UPDATE`. With `role`, also whether that role exists for the organization
 * (`roleExists`). Refuses an unknown organization or membership (not_found).
 */
export async function lockMembership(db: Sequelize, t: Transaction, organizationId: string, userId: string, role?: string): Promise<LockedMembership> {
  const [row] = await rawQueryIn<LockedMembership>(db, t, {
    name: 'lk_membership_lock',
    text: `SELECT m.id, m.role, m.status, m.permissions_version,
       ($3::text IS NULL OR EXISTS (SELECT 1 FROM roles r WHERE r.name = $3::text AND (r.organization_id = o.id OR r.organization_id IS NULL))) AS role_exists
     FROM organizations o JOIN memberships m ON m.organization_id = o.id AND m.user_id = $2::uuid
     WHERE o.id = $1::uuid FOR SHARE OF o FOR UPDATE OF m`,
    values: [organizationId, userId, role ?? null],
  });
  if (row) return row;
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

/** Sets a membership's role and bumps its permissions version. */
export async function setMembershipRole(db: Sequelize, t: Transaction, membershipId: string, role: string): Promise<number> {
  const [row] = await rawQueryIn<{ permissions_version: number }>(db, t, {
    name: 'lk_membership_set_role',
    text: `UPDATE memberships SET role = $2::text, permissions_version = permissions_version + 1, updated_at = now()
     WHERE id = $1::uuid RETURNING permissions_version`,
    values: [membershipId, role],
  });
  return row!.permissions_version;
}

/** Marks a membership removed and bumps its permissions version. */
export async function removeMembership(db: Sequelize, t: Transaction, membershipId: string): Promise<number> {
  const [row] = await rawQueryIn<{ permissions_version: number }>(db, t, {
    name: 'lk_membership_remove',
    text: `UPDATE memberships SET status = 'removed', permissions_version = permissions_version + 1, updated_at = now()
     WHERE id = $1::uuid RETURNING permissions_version`,
    values: [membershipId],
  });
  return row!.permissions_version;
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
