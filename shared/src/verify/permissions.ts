import type Redis from 'ioredis';
import type { Cluster } from 'ioredis';
import { QueryTypes, type Sequelize } from 'sequelize';
import { AppError } from '../errors/app-error';
import { KEY_TTL, type Keys } from '../redis/keys';

/** Loads the permissions of a membership at a permissions version from the durable store. */
export type PermissionsLoader = (membershipId: string, permissionsVersion: number) => Promise<string[]>;

/** Postgres loader: the membership's role (the organization's own role of that name first). */
export function postgresPermissionsLoader(db: Sequelize): PermissionsLoader {
  return async (membershipId, permissionsVersion) => {
    const [row] = await db.query<{ permissions_version: number; permissions: string[] | null }>(
      `SELECT m.permissions_version, r.permissions
       FROM memberships m
       LEFT JOIN LATERAL (
         SELECT permissions FROM roles
         WHERE name = m.role AND (organization_id = m.organization_id OR organization_id IS NULL)
         ORDER BY organization_id NULLS LAST LIMIT 1
       ) r ON true
       WHERE m.id = :membershipId AND m.status = 'active'`,
      { type: QueryTypes.SELECT, replacements: { membershipId } },
    );
    // Only ever cache what belongs to exactly this version; a newer row means the token is stale.
    if (!row || row.permissions_version !== permissionsVersion) throw new AppError('permissions_stale');
    return row.permissions ?? [];
  };
}

/**
 * Permissions by (membership, permissions version). An entry is immutable: a role change bumps the
 * version, so a stale entry can never answer for a current token. Layers: a bounded in-process map,
 * Redis, then the loader.
 */
export class PermissionsCache {
  private readonly local = new Map<string, { permissions: string[]; at: number }>();

  constructor(
    private readonly redis: Redis | Cluster,
    private readonly keys: Keys,
    private readonly loader: PermissionsLoader,
    private readonly options: { maxEntries?: number; maxAgeMs?: number } = {},
  ) {}

  async get(membershipId: string, permissionsVersion: number): Promise<string[]> {
    const id = `${membershipId}:${permissionsVersion}`;
    const hit = this.local.get(id);
    if (hit && Date.now() - hit.at < (this.options.maxAgeMs ?? 60_000)) return hit.permissions;
    const key = this.keys.permissions(membershipId, permissionsVersion);
    let permissions: string[] | undefined;
    const raw = await this.redis.get(key).catch(() => null);
    if (raw) permissions = safeParse(raw);
    if (!permissions) {
      permissions = await this.loader(membershipId, permissionsVersion);
      await this.redis.set(key, JSON.stringify(permissions), 'EX', KEY_TTL.permissions).catch(() => undefined);
    }
    if (this.local.size >= (this.options.maxEntries ?? 10_000)) this.local.delete(this.local.keys().next().value!);
    this.local.set(id, { permissions, at: Date.now() });
    return permissions;
  }
}

/** `*` grants everything; `reports:*` grants every action on reports. */
export function grants(permissions: readonly string[], required: string): boolean {
  if (permissions.includes('*') || permissions.includes(required)) return true;
  const resource = required.split(':')[0];
  return permissions.includes(`${resource}:*`);
}

function safeParse(raw: string): string[] | undefined {
  try {
    const value = JSON.parse(raw);
    return Array.isArray(value) && value.every((p) => typeof p === 'string') ? value : undefined;
  } catch {
    return undefined;
  }
}
