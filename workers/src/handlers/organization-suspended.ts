import { bumpOrganizationPermissions, setOrganizationStatus } from '../../../shared/src/organizations/membership-changes';
import type { EventHandler } from '../handler';

/**
 * `organization.suspended`: sets the status and bumps every membership's permissions version.
 * The bump matters twice: Redis membership values (which carry the organization status) only
 * accept writes of an equal or higher version, and tokens issued before the suspension stay
 * refused after a reinstatement (`permissions_stale`), as the contract requires.
 */
export const organizationSuspended: EventHandler<'organization.suspended'> = {
  async apply(event, t, ctx) {
    const { organizationId, reason } = event.data;
    const previousStatus = await setOrganizationStatus(ctx.db, t, organizationId, 'suspended');
    const memberships = await bumpOrganizationPermissions(ctx.db, t, organizationId);
    return { severity: 'warning', organizationId, details: { previousStatus, memberships, ...(reason ? { reason } : {}) } };
  },
  async sync(event, ctx) {
    await ctx.stateSync.organization(event.data.organizationId);
  },
};
