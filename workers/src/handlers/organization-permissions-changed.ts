import { bumpOrganizationPermissionsOnce, lockOrganization } from '../../../shared/src/organizations/membership-changes';
import type { EventHandler } from '../handler';

/**
 * `organization.permissions_changed`: bumps every member's permissions version, so every token of
 * that organization must be refreshed and permissions are re-read at the new version.
 *
 * When the API emits this event (PUT /v1/organizations/:id/roles/:role) it has already bumped the
 * holders of the changed role in the transaction that wrote the event; those are not bumped again,
 * so they refresh once, not twice (see bumpOrganizationPermissionsOnce).
 */
export const organizationPermissionsChanged: EventHandler<'organization.permissions_changed'> = {
  async apply(event, t, ctx) {
    const { organizationId } = event.data;
    await lockOrganization(ctx.db, t, organizationId);
    const memberships = await bumpOrganizationPermissionsOnce(ctx.db, t, organizationId, event.id);
    return { severity: 'info', organizationId, details: { memberships } };
  },
  async sync(event, ctx) {
    await ctx.stateSync.organization(event.data.organizationId);
  },
};
