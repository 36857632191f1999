import { QueryTypes, UniqueConstraintError, type Sequelize, type Transaction } from 'sequelize';
import { AppError } from '../../../../../shared/src/errors/app-error';

export interface OrganizationRow {
  id: string;
  name: string;
  slug: string;
  status: 'active' | 'suspended';
}

export interface MemberRow {
  membership_id: string;
  user_id: string;
  email: string;
  name: string | null;
  role: string;
  status: 'active' | 'removed';
  permissions_version: number;
  created_at: Date;
}

/** The SQL of organizations, memberships and custom roles (the API side). */
export class OrganizationsRepository {
  constructor(private readonly db: Sequelize) {}

  async create(name: string, slug: string): Promise<OrganizationRow> {
    try {
      const [row] = await this.db.query<OrganizationRow>(
        'INSERT INTO organizations (name, slug) VALUES (:name, :slug) RETURNING id, name, slug, status',
        { type: QueryTypes.SELECT, replacements: { name, slug } },
      );
      return row!;
    } catch (err) {
      if (err instanceof UniqueConstraintError) throw new AppError('conflict', { publicDetail: 'An organization with that slug exists.' });
      throw err;
    }
  }

  async find(id: string, t?: Transaction): Promise<OrganizationRow | undefined> {
    const [row] = await this.db.query<OrganizationRow>('SELECT id, name, slug, status FROM organizations WHERE id = :id', {
      type: QueryTypes.SELECT,
      transaction: t,
      replacements: { id },
    });
    return row;
  }

  async userExists(userId: string, t: Transaction): Promise<boolean> {
    const rows = await this.db.query('SELECT 1 FROM users WHERE id = :userId', { type: QueryTypes.SELECT, transaction: t, replacements: { userId } });
    return rows.length > 0;
  }

  /**
   * Adds a member, or re-activates a removed one (new role, permissions version bumped so any
   * Redis value of the removed membership is superseded). An active membership is a conflict.
   */
  async addMember(t: Transaction, organizationId: string, userId: string, role: string): Promise<{ id: string; permissions_version: number }> {
    const [row] = await this.db.query<{ id: string; permissions_version: number; inserted: boolean }>(
      `INSERT INTO memberships (organization_id, user_id, role) VALUES (:organizationId, :userId, :role)
       ON CONFLICT (organization_id, user_id) DO UPDATE
         SET role = EXCLUDED.role, status = 'active', permissions_version = memberships.permissions_version + 1, updated_at = now()
         WHERE memberships.status = 'removed'
       RETURNING id, permissions_version`,
      { type: QueryTypes.SELECT, transaction: t, replacements: { organizationId, userId, role } },
    );
    if (!row) throw new AppError('conflict', { publicDetail: 'That user is already an active member.' });
    return row;
  }

  async listMembers(
    organizationId: string,
    options: { limit: number; cursor?: string; status: 'active' | 'removed' | 'all' },
  ): Promise<MemberRow[]> {
    return this.db.query<MemberRow>(
      `SELECT m.id AS membership_id, m.user_id, u.email, u.name, m.role, m.status, m.permissions_version, m.created_at
       FROM memberships m JOIN users u ON u.id = m.user_id
       WHERE m.organization_id = :organizationId
         AND (:status = 'all' OR m.status = :status)
         AND (CAST(:cursor AS uuid) IS NULL OR m.id > CAST(:cursor AS uuid))
       ORDER BY m.id LIMIT :limit`,
      { type: QueryTypes.SELECT, replacements: { organizationId, status: options.status, cursor: options.cursor ?? null, limit: options.limit } },
    );
  }

  /** Creates or replaces the organization's own role of that name; true when it was created. */
  async upsertRole(t: Transaction, organizationId: string, role: string, permissions: string[]): Promise<boolean> {
    const [row] = await this.db.query<{ created: boolean }>(
      `INSERT INTO roles (organization_id, name, permissions) VALUES (:organizationId, :role, ARRAY(SELECT jsonb_array_elements_text(CAST(:permissions AS jsonb))))
       ON CONFLICT (organization_id, name) DO UPDATE SET permissions = EXCLUDED.permissions, updated_at = now()
       RETURNING (xmax = 0) AS created`,
      { type: QueryTypes.SELECT, transaction: t, replacements: { organizationId, role, permissions: JSON.stringify(permissions) } },
    );
    return row!.created;
  }
}
