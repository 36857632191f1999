import { QueryTypes, type Sequelize } from 'sequelize';
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

/** An exact type or a `.*` prefix of one; also the request schemas' rule, so an export is refused before it starts. */
export const TYPE_FORM = /^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*(\.\*)?$/;

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

/**
 * True when the filters bound occurred_at (`from`, `to` or both) and name no user, organization,
 * session or type: the reads that no index ordered by id serves, because the table is partitioned
 * by created_at while occurredAt is the event sender's time (any distance from created_at). Those
 * reads go through the (id, occurred_at) GiST index instead (migration 005, `timeWindowOrder`).
 */
export function isTimeWindowOnly(filters: AuditFilters): boolean {
  return Boolean(filters.from || filters.to) && !filters.organizationId && !filters.userId && !filters.sessionId && !filters.type;
}

/**
 * btree_gist computes the `<->` distance of bigints in float8: exact while both ids are below 2^53
 * (9e15, far beyond any audit log), approximate beyond, where two records could tie or swap.
 */
const EXACT_DISTANCE_BELOW = 2n ** 53n;

/**
 * Keyset order and bound for one read, newest first, strictly below `before` (an id).
 *
 * Usually `ORDER BY id DESC`. For time-window-only filters it is `ORDER BY id <-> before`: the same
 * order, because every id read is below `before`, so the distance `before - id` grows as id falls,
 * and no two records tie (ids are unique, distances exact below 2^53). That order is what the GiST
 * index on (id, occurred_at) serves nearest first, skipping subtrees outside the window or above
 * the bound, where the id-ordered scan of each partition would read it to its end. A read without
 * a cursor takes `before` = the head + 1 (`auditHeadBound`).
 */
export function keysetOf(filters: AuditFilters, before: string | undefined): { clause?: string; orderBy: string; replacements: Record<string, unknown> } {
  if (before === undefined) return { orderBy: 'audit_logs.id DESC', replacements: {} };
  const clause = 'id < CAST(:before AS bigint)';
  if (!isTimeWindowOnly(filters) || BigInt(before) > EXACT_DISTANCE_BELOW) return { clause, orderBy: 'audit_logs.id DESC', replacements: { before } };
  return { clause, orderBy: 'audit_logs.id <-> CAST(:before AS bigint)', replacements: { before } };
}

/**
 * The bound a first read starts below: one more than the largest id visible now, so it covers
 * every record visible when it starts (records committed later have larger ids: audit-query.ts).
 * Only time-window-only reads need one (their order measures from it); others read from the top.
 */
export async function auditHeadBound(db: Sequelize, filters: AuditFilters): Promise<string | undefined> {
  if (!isTimeWindowOnly(filters)) return undefined;
  const [row] = await db.query<{ bound: string }>('SELECT (COALESCE(max(id), 0) + 1)::text AS bound FROM audit_logs', { type: QueryTypes.SELECT });
  return row!.bound;
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
