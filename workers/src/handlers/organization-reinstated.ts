import { bumpOrganizationPermissions, setOrganizationStatus } from '../../../shared/src/organizations/membership-changes';
import type { EventHandler } from '../handler';

/**
 * `organization.reinstated`: sets the status back to active and bumps every membership's
 * permissions version, so the new status reaches Redis (versioned writes) while tokens from
 * before the suspension stay refused; members refresh or sign in into the organization again.
 */
export const organizationReinstated: EventHandler<'organization.reinstated'> = {
  async apply(event, t, ctx) {
    const { organizationId, reason } = event.data;
    const previousStatus = await setOrganizationStatus(ctx.db, t, organizationId, 'active');
    const memberships = await bumpOrganizationPermissions(ctx.db, t, organizationId);
    return { severity: 'info', organizationId, details: { previousStatus, memberships, ...(reason ? { reason } : {}) } };
  },
  async sync(event, ctx) {
    await ctx.stateSync.organization(event.data.organizationId);
  },
};
