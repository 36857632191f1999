import { QueryTypes, type Sequelize, type Transaction } from 'sequelize';
import { computeAuditHash, type AuditChainFields } from './canonical';

/**
 * The advisory lock (two-int key space: "LK", 1) that serialises chain appends. Held until the
 * appending transaction ends, so records are linked in the order they commit and `id` order is
 * chain order. Take it last in a transaction (after row locks) to keep lock order acyclic.
 */
export const AUDIT_CHAIN_LOCK = [0x4c4b, 1] as const;

/** What a writer supplies; the id, hashes and creation time are the writer's job. */
export interface NewAuditRecord {
  eventId?: string | null;
  type: string;
  severity: 'info' | 'warning' | 'critical';
  occurredAt: Date | string;
  actor: { type: string; id?: string | null };
  userId?: string | null;
  organizationId?: string | null;
  sessionId?: string | null;
  ip?: string | null;
  userAgent?: string | null;
  requestId?: string | null;
  details?: Record<string, unknown>;
}

export type AppendResult = { inserted: true; id: string } | { inserted: false; id: string };

/** True when the event already has its audit record (committed, or written earlier in `t`). */
export async function auditRecordExists(db: Sequelize, t: Transaction | null, eventId: string): Promise<boolean> {
  const rows = await db.query('SELECT 1 FROM audit_logs WHERE event_id = :eventId', {
    type: QueryTypes.SELECT,
    transaction: t ?? undefined,
    replacements: { eventId },
  });
  return rows.length > 0;
}

/**
 * Appends one record to the tamper-evident audit log inside the caller's transaction.
 *
 * One record per event id: when the event already has one (a redelivery, or a concurrent
 * delivery that committed first) nothing is written and `inserted: false` is returned, so the
 * caller can roll back whatever it applied. The record's hash covers the previous record's hash
 * and the canonical form of its own fields (canonical.ts); the chain is read and extended under
 * AUDIT_CHAIN_LOCK. The latest hash is found by `ORDER BY id DESC`, which stays valid when the
 * table is later partitioned by time (ids are still allocated under the lock).
 */
export async function appendAuditRecord(db: Sequelize, t: Transaction, input: NewAuditRecord): Promise<AppendResult> {
  await db.query('SELECT pg_advisory_xact_lock(:a, :b)', {
    transaction: t,
    replacements: { a: AUDIT_CHAIN_LOCK[0], b: AUDIT_CHAIN_LOCK[1] },
  });
  if (input.eventId) {
    const [existing] = await db.query<{ id: string }>('SELECT id::text AS id FROM audit_logs WHERE event_id = :eventId', {
      type: QueryTypes.SELECT,
      transaction: t,
      replacements: { eventId: input.eventId },
    });
    if (existing) return { inserted: false, id: existing.id };
  }
  const [prev] = await db.query<{ hash: Buffer }>('SELECT hash FROM audit_logs ORDER BY id DESC LIMIT 1', {
    type: QueryTypes.SELECT,
    transaction: t,
  });
  const [{ id }] = (await db.query<{ id: string }>("SELECT nextval(pg_get_serial_sequence('audit_logs', 'id'))::text AS id", {
    type: QueryTypes.SELECT,
    transaction: t,
  })) as [{ id: string }];
  const record: AuditChainFields = {
    id,
    eventId: input.eventId ?? null,
    type: input.type,
    severity: input.severity,
    // Stored with millisecond precision so the verifier can recompute the same bytes.
    occurredAt: new Date(new Date(input.occurredAt).getTime()),
    actorType: input.actor.type,
    actorId: input.actor.id ?? null,
    userId: input.userId ?? null,
    organizationId: input.organizationId ?? null,
    sessionId: input.sessionId ?? null,
    ip: input.ip ?? null,
    userAgent: input.userAgent ?? null,
    requestId: input.requestId ?? null,
    details: JSON.parse(JSON.stringify(input.details ?? {})) as Record<string, unknown>,
  };
  const prevHash = prev?.hash ?? null;
  const hash = computeAuditHash(prevHash, record);
  await db.query(
    `INSERT INTO audit_logs (id, event_id, type, severity, occurred_at, actor_type, actor_id, user_id, organization_id,
       session_id, ip, user_agent, request_id, details, prev_hash, hash)
     VALUES (:id, :eventId, :type, :severity, :occurredAt, :actorType, :actorId, :userId, :organizationId,
       :sessionId, :ip, :userAgent, :requestId, :details, :prevHash, :hash)`,
    {
      transaction: t,
      replacements: {
        ...record,
        occurredAt: record.occurredAt.toISOString(),
        details: JSON.stringify(record.details),
        prevHash,
        hash,
      },
    },
  );
  return { inserted: true, id };
}
