import { createHash } from 'node:crypto';

/** The fields of an audit record that the hash chain covers, in the form they are stored. */
export interface AuditChainFields {
  id: string;
  eventId: string | null;
  type: string;
  severity: 'info' | 'warning' | 'critical';
  occurredAt: Date;
  actorType: string;
  actorId: string | null;
  userId: string | null;
  organizationId: string | null;
  sessionId: string | null;
  ip: string | null;
  userAgent: string | null;
  requestId: string | null;
  details: Record<string, unknown>;
}

/** JSON with object keys sorted at every depth: the same value always gives the same bytes. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null);
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v)).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/**
 * The canonical serialisation of a record. Timestamps are ISO 8601 with milliseconds (what is
 * stored: writers truncate to milliseconds), ids as text, so a verifier reading the row back from
 * Postgres reproduces exactly these bytes.
 */
export function canonicalAuditRecord(r: AuditChainFields): string {
  return canonicalJson({
    v: 1,
    id: r.id,
    eventId: r.eventId,
    type: r.type,
    severity: r.severity,
    occurredAt: r.occurredAt.toISOString(),
    actorType: r.actorType,
    actorId: r.actorId,
    userId: r.userId,
    organizationId: r.organizationId,
    sessionId: r.sessionId,
    ip: r.ip,
    userAgent: r.userAgent,
    requestId: r.requestId,
    details: r.details,
  });
}

/**
 * The chain link: SHA-256(previous record's hash || canonical record). The first record of a chain
 * has no predecessor and hashes the record alone. Changing, removing or reordering any record
 * breaks every link after it.
 */
export function computeAuditHash(prevHash: Buffer | null, record: AuditChainFields): Buffer {
  const h = createHash('sha256');
  if (prevHash) h.update(prevHash);
  h.update(canonicalAuditRecord(record));
  return h.digest();
}
