/** An audit record as the API returns it (contract section 3). */
export interface AuditRecord {
  id: string;
  eventId: string | null;
  type: string;
  severity: 'info' | 'warning' | 'critical';
  occurredAt: string;
  actor: { type: string; id: string | null };
  userId: string | null;
  organizationId: string | null;
  sessionId: string | null;
  ip: string | null;
  userAgent: string | null;
  requestId: string | null;
  details: Record<string, unknown>;
}

/** The row shape the readers select (ids as text: bigint must not lose precision in JS). */
export interface AuditRow {
  id: string;
  event_id: string | null;
  type: string;
  severity: 'info' | 'warning' | 'critical';
  occurred_at: Date;
  actor_type: string;
  actor_id: string | null;
  user_id: string | null;
  organization_id: string | null;
  session_id: string | null;
  ip: string | null;
  user_agent: string | null;
  request_id: string | null;
  details: Record<string, unknown>;
}

/** The select list matching AuditRow. */
export const AUDIT_COLUMNS = `id::text AS id, event_id, type, severity, occurred_at, actor_type, actor_id, user_id,
  organization_id, session_id, ip, user_agent, request_id, details`;

/** Row to public record. */
export function toAuditRecord(row: AuditRow): AuditRecord {
  return {
    id: row.id,
    eventId: row.event_id,
    type: row.type,
    severity: row.severity,
    occurredAt: new Date(row.occurred_at).toISOString(),
    actor: { type: row.actor_type, id: row.actor_id },
    userId: row.user_id,
    organizationId: row.organization_id,
    sessionId: row.session_id,
    ip: row.ip,
    userAgent: row.user_agent,
    requestId: row.request_id,
    details: row.details ?? {},
  };
}
