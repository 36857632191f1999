import { QueryTypes, type Sequelize } from 'sequelize';
import { auditHeadBound, keysetOf, whereOf, type AuditFilters } from './audit-filters';
import { AUDIT_COLUMNS, toAuditRecord, type AuditRecord, type AuditRow } from './audit-record';

export type ExportFormat = 'ndjson' | 'csv';

/** Rows per read: large enough to be fast, small enough to keep memory flat. */
const BATCH = 1_000;

/**
 * Every record matching the filters, newest first, in batches read by keyset on id (one short
 * query per batch, no long transaction, no OFFSET). Memory holds one batch at a time, so an export
 * of millions of records runs in constant memory when the consumer applies backpressure. The
 * traversal is bounded by the head seen at the start (see queryAuditLogs on why no record can
 * appear below it), so a long export neither repeats nor skips a record.
 */
export async function* auditBatches(db: Sequelize, filters: AuditFilters, batchSize = BATCH): AsyncGenerator<AuditRecord[]> {
  const { clauses, replacements } = whereOf(filters);
  let before = await auditHeadBound(db, filters);
  for (;;) {
    const keyset = keysetOf(filters, before);
    const where = keyset.clause ? [...clauses, keyset.clause] : clauses;
    const rows = await db.query<AuditRow>(
      `SELECT ${AUDIT_COLUMNS} FROM audit_logs ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY ${keyset.orderBy} LIMIT :limit`,
      { type: QueryTypes.SELECT, replacements: { ...replacements, ...keyset.replacements, limit: batchSize } },
    );
    if (rows.length === 0) return;
    yield rows.map(toAuditRecord);
    if (rows.length < batchSize) return;
    before = rows[rows.length - 1]!.id;
  }
}

/** The CSV columns, in order (nested values flattened: actor to two columns, details as JSON). */
export const CSV_COLUMNS = [
  'id',
  'eventId',
  'type',
  'severity',
  'occurredAt',
  'actorType',
  'actorId',
  'userId',
  'organizationId',
  'sessionId',
  'ip',
  'userAgent',
  'requestId',
  'details',
] as const;

/** RFC 4180 quoting; a leading formula character is neutralised so a spreadsheet never runs it. */
function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  let s = typeof value === 'string' ? value : JSON.stringify(value);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The header line of a CSV export. */
export function csvHeader(): string {
  return `${CSV_COLUMNS.join(',')}\r\n`;
}

/** One record in the chosen format, with its line ending. */
export function formatRecord(record: AuditRecord, format: ExportFormat): string {
  if (format === 'ndjson') return `${JSON.stringify(record)}\n`;
  const flat: Record<(typeof CSV_COLUMNS)[number], unknown> = {
    id: record.id,
    eventId: record.eventId,
    type: record.type,
    severity: record.severity,
    occurredAt: record.occurredAt,
    actorType: record.actor.type,
    actorId: record.actor.id,
    userId: record.userId,
    organizationId: record.organizationId,
    sessionId: record.sessionId,
    ip: record.ip,
    userAgent: record.userAgent,
    requestId: record.requestId,
    details: record.details,
  };
  return `${CSV_COLUMNS.map((c) => csvCell(flat[c])).join(',')}\r\n`;
}
