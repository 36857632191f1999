import { randomUUID } from 'node:crypto';
import { AppError, unavailable } from '../../../../../shared/src/errors/app-error';
import { buildEvent, insertOutboxEvent } from '../../../../../shared/src/events/outbox';
import type { SecurityEvent } from '../../../../../shared/src/events/schemas';
import { bumpOrganizationPermissions, lockOrganization, roleExists } from '../../../../../shared/src/organizations/membership-changes';
import { QueryTypes } from 'sequelize';
import { StateSync } from '../../../../../shared/src/verify/state-sync';
import type { ApiDeps } from '../../deps';
import type { RequestContext } from '../../http/request-context';
import { publishAfterCommit } from '../events/publish-after-commit';
import { assertMayGrant, type OrganizationActor } from './organization-access';
import { OrganizationsRepository, type OrganizationRow } from './organizations.repository';

/** Built-in roles an organization may not redefine: `owner` must always mean every permission. */
const RESERVED_ROLES = new Set(['owner']);

/** Organizations, members and custom roles: what product backends (and member admins) manage. */
export class OrganizationsService {
  private readonly repo: OrganizationsRepository;
  private readonly sync: StateSync;

  constructor(private readonly deps: ApiDeps) {
    this.repo = new OrganizationsRepository(deps.db);
    this.sync = new StateSync(deps.db, deps.stateCache);
  }

  async create(input: { name: string; slug?: string }): Promise<OrganizationRow> {
    return this.repo.create(input.name, input.slug ?? slugify(input.name));
  }

  /** Adds a user with a built-in or custom role; 404 for an unknown organization or user. */
  async addMember(actor: OrganizationActor, organizationId: string, input: { userId: string; role: string }) {
    const { db } = this.deps;
    const membership = await db.transaction(async (t) => {
      await lockOrganization(db, t, organizationId, 'share');
      if (!(await this.repo.userExists(input.userId, t))) throw new AppError('not_found', { publicDetail: 'No user with that id.' });
      if (!(await roleExists(db, t, organizationId, input.role))) {
        throw new AppError('validation_failed', { publicDetail: `The role ${input.role} does not exist in this organization.` });
      }
      assertMayGrant(actor, await this.rolePermissions(organizationId, input.role));
      return this.repo.addMember(t, organizationId, input.userId, input.role);
    });
    // A re-activated membership supersedes its cached "removed" value at once.
    await this.sync.user(input.userId).catch((err: unknown) => {
      throw unavailable('membership committed but Redis write-through failed', err);
    });
    return { membershipId: membership.id, userId: input.userId, organizationId, role: input.role, status: 'active' as const };
  }

  async listMembers(organizationId: string, query: { limit: number; cursor?: string; status: 'active' | 'removed' | 'all' }) {
    if (!(await this.repo.find(organizationId))) throw new AppError('not_found');
    const rows = await this.repo.listMembers(organizationId, query);
    return {
      members: rows.map((m) => ({
        membershipId: m.membership_id,
        userId: m.user_id,
        email: m.email,
        name: m.name,
        role: m.role,
        status: m.status,
        permissionsVersion: m.permissions_version,
        createdAt: m.created_at.toISOString(),
      })),
      nextCursor: rows.length === query.limit ? rows[rows.length - 1]!.membership_id : null,
    };
  }

  /**
   * Defines or changes a role of the organization. In one transaction: the role, a permissions
   * version bump of every member holding it, and the `organization.permissions_changed` outbox row.
   * Then Redis is rewritten before answering, so old tokens of those members are refused at once
   * with `permissions_stale`; the worker's fan-out bumps the other members (contract section 4).
   */
  async putRole(actor: OrganizationActor, organizationId: string, role: string, permissions: string[], ctx: RequestContext) {
    if (RESERVED_ROLES.has(role)) throw new AppError('conflict', { publicDetail: `The built-in role ${role} cannot be redefined.` });
    const unique = [...new Set(permissions)].sort();
    assertMayGrant(actor, unique);
    const { db } = this.deps;
    const events: SecurityEvent[] = [];
    const result = await db.transaction(async (t) => {
      await lockOrganization(db, t, organizationId);
      const created = await this.repo.upsertRole(t, organizationId, role, unique);
      const membersAffected = await bumpOrganizationPermissions(db, t, organizationId, role);
      const event = buildEvent({
        type: 'organization.permissions_changed',
        source: 'api',
        actor: actor.type === 'service' ? { type: 'service', id: actor.id } : { type: 'user', id: actor.userId },
        requestId: ctx.requestId,
        ...(ctx.ip ? { ip: ctx.ip } : {}),
        ...(ctx.userAgent ? { userAgent: ctx.userAgent } : {}),
        data: { organizationId },
      });
      await insertOutboxEvent(db, t, event);
      events.push(event);
      return { created, membersAffected, eventId: event.id };
    });
    publishAfterCommit(this.deps, events);
    // Committed either way; if Redis cannot be written the worker's sync repairs it, but the caller
    // must not believe the change is already effective everywhere.
    await this.sync.organization(organizationId).catch((err: unknown) => {
      throw unavailable('role committed but Redis write-through failed; the worker will sync', err);
    });
    return { organizationId, role, permissions: unique, ...result };
  }

  /** The permissions a role grants in an organization (its own definition first). */
  private async rolePermissions(organizationId: string, role: string): Promise<string[]> {
    const [row] = await this.deps.db.query<{ permissions: string[] }>(
      `SELECT permissions FROM roles WHERE name = :role AND (organization_id = :organizationId OR organization_id IS NULL)
       ORDER BY organization_id NULLS LAST LIMIT 1`,
      { type: QueryTypes.SELECT, replacements: { organizationId, role } },
    );
    return row?.permissions ?? [];
  }
}

/** A URL-safe slug from a name, with a short random suffix so two "Acme" organizations can coexist. */
function slugify(name: string): string {
  const base = name
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 48);
  const suffix = randomUUID().slice(0, 6);
  return base ? `${base}-${suffix}` : `org-${suffix}`;
}
