import type { Migration } from '../shared/src/db/migrator';

/**
 * The built-in `owner` holds every permission (`*`); it now also lists the permissions the other
 * built-in roles name, so a client reading `GET /me` or an introspection answer sees them there
 * instead of having to know that `*` covers them. What `owner` is granted does not change.
 */
const NAMED = ['members:manage', 'audit:read', 'sessions:manage', 'reports:read', 'reports:write', 'projects:read', 'projects:write'];

export const up: Migration = async ({ context: sql }) => {
  await sql.query(`UPDATE roles SET permissions = ARRAY['*', ${NAMED.map((p) => `'${p}'`).join(', ')}] WHERE organization_id IS NULL AND name = 'owner';`);
};

export const down: Migration = async ({ context: sql }) => {
  await sql.query(`UPDATE roles SET permissions = ARRAY['*'] WHERE organization_id IS NULL AND name = 'owner';`);
};
