import { QueryTypes, type Sequelize } from 'sequelize';
import { AppError } from '../errors/app-error';
import { isBigintId } from '../validation/storable';
import { auditHeadBound, keysetOf, whereOf, type AuditFilters } from './audit-filters';
import { AUDIT_COLUMNS, toAuditRecord, type AuditRecord, type AuditRow } from './audit-record';

/** The largest page `GET /v1/audit-logs` serves (contract: limit ≤ 500). */
export const AUDIT_MAX_LIMIT = 500;
export const AUDIT_DEFAULT_LIMIT = 50;

/** One page of records, newest first, and the cursor of the next page (null at the end). */
export interface AuditPage {
  items: AuditRecord[];
  nextCursor: string | null;
}

/** An opaque cursor: the id of the last record served. Ids are text (bigint). */
export function encodeCursor(lastId: string): string {
  return Buffer.from(JSON.stringify({ v: 1, b: lastId })).toString('base64url');
}

/** Reads a cursor back; a tampered or foreign one is a 400, never a 500. */
export function decodeCursor(cursor: string): string {
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { v?: number; b?: unknown };
    if (value.v === 1 && typeof value.b === 'string' && isBigintId(value.b)) return value.b;
  } catch {
    // fall through
  }
  throw new AppError('validation_failed', { publicDetail: 'Invalid or missing: cursor' });
}

/**
 * One page of the audit log, newest first (by id, which is chain order and write order).
 *
 * Keyset pagination on id (`id < cursor ORDER BY id DESC`) is stable under concurrent inserts only
 * if ids become visible in increasing order: a row committing later with a smaller id than one
 * already served would be skipped. That holds here by construction, not by luck: every insert
 * must hold the chain lock (AUDIT_CHAIN_LOCK; the database refuses an insert without it, migration
 * 003), the id is drawn from the sequence under that lock, and the lock is released only after the
 * commit is visible. So any transaction still in flight holds an id larger than every visible id:
 * the lowest in-flight id is always above the head a reader sees. A traversal therefore covers
 * exactly the records visible when its first page was read: no duplicate (strictly decreasing
 * keyset), no gap (nothing can appear below the cursor). Records written meanwhile sit above the
 * first page; a reader sees them by starting again from the top.
 */
export async function queryAuditLogs(
  db: Sequelize,
  filters: AuditFilters,
  page: { limit?: number; cursor?: string } = {},
): Promise<AuditPage> {
  const limit = Math.min(Math.max(page.limit ?? AUDIT_DEFAULT_LIMIT, 1), AUDIT_MAX_LIMIT);
  const { clauses, replacements } = whereOf(filters);
  const keyset = keysetOf(filters, page.cursor ? decodeCursor(page.cursor) : await auditHeadBound(db, filters));
  if (keyset.clause) clauses.push(keyset.clause);
  const rows = await db.query<AuditRow>(
    `SELECT ${AUDIT_COLUMNS} FROM audit_logs
     ${clauses.length ? `WHERE ${clauses.join(' AND ')}` : ''}
     ORDER BY ${keyset.orderBy} LIMIT :limit`,
    { type: QueryTypes.SELECT, replacements: { ...replacements, ...keyset.replacements, limit: limit + 1 } },
  );
  const more = rows.length > limit;
  const items = rows.slice(0, limit).map(toAuditRecord);
  return { items, nextCursor: more ? encodeCursor(items[items.length - 1]!.id) : null };
}

/** One record by id, within the filters (an auditor's organization), or undefined. */
export async function findAuditRecord(db: Sequelize, id: string, filters: AuditFilters = {}): Promise<AuditRecord | undefined> {
  const { clauses, replacements } = whereOf(filters);
  const [row] = await db.query<AuditRow>(
    `SELECT ${AUDIT_COLUMNS} FROM audit_logs WHERE id = :id ${clauses.length ? `AND ${clauses.join(' AND ')}` : ''}`,
    { type: QueryTypes.SELECT, replacements: { ...replacements, id } },
  );
  return row ? toAuditRecord(row) : undefined;
}
