import { AppError } from '../errors/app-error';

/** The contract's filters of `GET /v1/audit-logs` and its export (all optional, combined with AND). */
export interface AuditFilters {
  organizationId?: string;
  userId?: string;
  sessionId?: string;
  /** An exact type (`session.revoked`) or a prefix ending in `.*` (`refresh_token.*`). */
  type?: string;
  severity?: 'info' | 'warning' | 'critical';
  /** Inclusive lower bound on occurredAt. */
  from?: Date;
  /** Exclusive upper bound on occurredAt. */
  to?: Date;
}

const TYPE_FORM = /^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*(\.\*)?$/;

/** A WHERE clause with named replacements, for Sequelize's `db.query`. */
export interface SqlWhere {
  clauses: string[];
  replacements: Record<string, unknown>;
}

/**
 * Translates filters to SQL. A `<family>.*` prefix is an equality on the stored `type_family`
 * column (served by an index ordered by id); a deeper prefix (`a.b.*`) is a LIKE on the type.
 */
export function whereOf(filters: AuditFilters): SqlWhere {
  const clauses: string[] = [];
  const replacements: Record<string, unknown> = {};
  if (filters.organizationId) {
    clauses.push('organization_id = :organizationId');
    replacements.organizationId = filters.organizationId;
  }
  if (filters.userId) {
    clauses.push('user_id = :userId');
    replacements.userId = filters.userId;
  }
  if (filters.sessionId) {
    clauses.push('session_id = :sessionId');
    replacements.sessionId = filters.sessionId;
  }
  if (filters.type) {
    if (!TYPE_FORM.test(filters.type)) throw new AppError('validation_failed', { publicDetail: 'Invalid or missing: type' });
    if (filters.type.endsWith('.*')) {
      const prefix = filters.type.slice(0, -2);
      if (prefix.includes('.')) {
        clauses.push('type LIKE :typePrefix');
        replacements.typePrefix = `${prefix.replace(/_/g, '\\_')}.%`;
      } else {
        clauses.push('type_family = :typeFamily');
        replacements.typeFamily = prefix;
      }
    } else {
      clauses.push('type = :type');
      replacements.type = filters.type;
    }
  }
  if (filters.severity) {
    clauses.push('severity = :severity');
    replacements.severity = filters.severity;
  }
  if (filters.from) {
    clauses.push('occurred_at >= :from');
    replacements.from = filters.from.toISOString();
  }
  if (filters.to) {
    clauses.push('occurred_at < :to');
    replacements.to = filters.to.toISOString();
  }
  return { clauses, replacements };
}

/** The filters as plain JSON (for the `audit.exported` record and for logs). */
export function filtersToJson(filters: AuditFilters): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(filters)) {
    if (v === undefined) continue;
    out[k] = v instanceof Date ? v.toISOString() : String(v);
  }
  return out;
}
