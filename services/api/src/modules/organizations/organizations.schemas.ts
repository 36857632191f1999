import { z } from 'zod';

/** Role names: the same form the `membership.role_changed` event accepts. */
export const ROLE_NAME = /^[a-z][a-z0-9_-]{0,63}$/;
/** `resource:action`, either part may be `*`; or `*` alone (everything). */
export const PERMISSION = /^(\*|([a-z][a-z0-9_-]{0,63}|\*):([a-z][a-z0-9_-]{0,63}|\*))$/;

/** `POST /v1/organizations`. */
export const createOrganizationBody = z.strictObject({
  name: z.string().trim().min(1).max(200),
  slug: z
    .string()
    .regex(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/)
    .optional(),
});

/** `POST /v1/organizations/:id/members`. */
export const addMemberBody = z.strictObject({
  userId: z.guid(),
  role: z.string().regex(ROLE_NAME),
});

/** `PUT /v1/organizations/:id/roles/:role`. */
export const putRoleBody = z.strictObject({
  permissions: z.array(z.string().regex(PERMISSION)).max(200),
});

export const organizationParams = z.object({ id: z.guid() });
export const roleParams = z.object({ id: z.guid(), role: z.string().regex(ROLE_NAME) });

/** `GET /v1/organizations/:id/members` paging: keyset on the membership id. */
export const listMembersQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: z.guid().optional(),
  status: z.enum(['active', 'removed', 'all']).default('all'),
});
