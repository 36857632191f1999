import { reinstateOrganization } from '../../../shared/src/organizations/membership-changes';
import type { EventHandler } from '../handler';

/**
 * `organization.reinstated`: a suspended organization set back to active, every membership's
 * permissions version bumped, so the new status reaches Redis (versioned writes: one version up, a
 * late write of the suspended state cannot replace it); members refresh or sign in into the
 * organization again. Tokens from before the suspension stay refused, by the suspension's own bump
 * (their `pv` is older than the current version whatever happens here). An organization that is
 * not suspended is left alone: a repeated reinstatement must not make every member refresh.
 */
export const organizationReinstated: EventHandler<'organization.reinstated'> = {
  async apply(event, t, ctx) {
    const { organizationId, reason } = event.data;
    const { previousStatus, memberships } = await reinstateOrganization(ctx.db, t, organizationId);
    return { severity: 'info', organizationId, details: { previousStatus, memberships, ...(reason ? { reason } : {}) } };
  },
  async sync(event, ctx) {
    await ctx.stateSync.organization(event.data.organizationId);
  },
};
