import { changeMembership } from '../../../shared/src/organizations/membership-changes';
import type { EventHandler } from '../handler';

/**
 * `membership.removed`: marks the membership removed and bumps its permissions version. Tokens
 * carrying it are refused with `membership_inactive`, and refresh can no longer issue a token for
 * that organization (refresh.service.ts re-checks the membership).
 */
export const membershipRemoved: EventHandler<'membership.removed'> = {
  async apply(event, t, ctx) {
    const { organizationId, userId } = event.data;
    const membership = await changeMembership(ctx.db, t, organizationId, userId, 'remove');
    const permissionsVersion = membership.after!.permissionsVersion;
    return {
      severity: 'warning',
      userId,
      organizationId,
      details: { membershipId: membership.id, role: membership.role, previousStatus: membership.status, permissionsVersion },
      writeThrough: { memberships: [{ userId, membershipId: membership.id, state: membership.after! }] },
    };
  },
  async sync(event, ctx) {
    await ctx.stateSync.user(event.data.userId);
  },
};
