import { AppError } from '../../../shared/src/errors/app-error';
import { changeMembership } from '../../../shared/src/organizations/membership-changes';
import type { EventHandler } from '../handler';

/**
 * `membership.role_changed`: sets the role and bumps the membership's permissions version, so
 * tokens carrying the old `pv` are refused with `permissions_stale` and the permissions cache
 * (keyed by version) is never consulted for them again.
 */
export const membershipRoleChanged: EventHandler<'membership.role_changed'> = {
  async apply(event, t, ctx) {
    const { organizationId, userId, role } = event.data;
    const membership = await changeMembership(ctx.db, t, organizationId, userId, { role });
    if (membership.status !== 'active') {
      throw new AppError('not_found', { detail: `membership ${membership.id} is not active` });
    }
    if (!membership.role_exists) {
      throw new AppError('validation_failed', { detail: `role ${role} does not exist in organization ${organizationId}` });
    }
    const permissionsVersion = membership.after!.permissionsVersion;
    return {
      severity: 'info',
      userId,
      organizationId,
      details: { membershipId: membership.id, previousRole: membership.role, role, permissionsVersion },
      writeThrough: { memberships: [{ userId, membershipId: membership.id, state: membership.after! }] },
    };
  },
  async sync(event, ctx) {
    await ctx.stateSync.user(event.data.userId);
  },
};
