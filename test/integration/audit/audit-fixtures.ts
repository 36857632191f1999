import { randomUUID } from 'node:crypto';
import { QueryTypes, type Sequelize } from 'sequelize';
import { AUDIT_CHAIN_LOCK } from '../../../shared/src/audit/audit-writer';
import { computeAuditHash, type AuditChainFields } from '../../../shared/src/audit/canonical';

/** What a generated record varies; everything else is filled in. */
export type GeneratedRecord = Omit<AuditChainFields, 'id' | 'eventId'> & {
  eventId?: string | null;
  /** When the row was written (the partition key, not hashed); the column's default otherwise. */
  createdAt?: Date;
};

const TYPES = ['auth.login_succeeded', 'auth.login_failed', 'refresh_token.reused', 'session.revoked', 'user.suspended', 'membership.role_changed'] as const;
const SEVERITY: Record<string, AuditChainFields['severity']> = {
  'refresh_token.reused': 'critical',
  'auth.login_failed': 'warning',
  'user.suspended': 'warning',
};

/** A varied record for org/user/session pools, at `occurredAt`. */
export function sampleRecord(i: number, pools: { orgs: string[]; users: string[]; sessions: string[] }, occurredAt: Date): GeneratedRecord {
  const type = TYPES[i % TYPES.length]!;
  return {
    type,
    severity: SEVERITY[type] ?? 'info',
    occurredAt,
    actorType: i % 2 ? 'user' : 'service',
    actorId: i % 2 ? pools.users[i % pools.users.length]! : 'svc-generator',
    userId: pools.users[i % pools.users.length]!,
    organizationId: pools.orgs[i % pools.orgs.length]!,
    sessionId: pools.sessions[i % pools.sessions.length]!,
    ip: `10.0.${i % 250}.${(i * 7) % 250}`,
    userAgent: 'generator/1.0',
    requestId: `gen-${i}`,
    details: { n: i, source: 'generator' },
  };
}

/**
 * Appends records straight into audit_logs with SQL (no API, no worker), as valid chain links:
 * per chunk, one transaction that takes the chain lock, reads the head, computes the hashes here
 * and inserts the chunk from one JSON document. Returns the ids, oldest first.
 */
export async function generateAuditRecords(db: Sequelize, count: number, make: (i: number) => GeneratedRecord, chunk = 5_000): Promise<string[]> {
  const ids: string[] = [];
  for (let start = 0; start < count; start += chunk) {
    const n = Math.min(chunk, count - start);
    await db.transaction(async (t) => {
      await db.query('SELECT pg_advisory_xact_lock(:a, :b)', { transaction: t, replacements: { a: AUDIT_CHAIN_LOCK[0], b: AUDIT_CHAIN_LOCK[1] } });
      const [head] = await db.query<{ hash: Buffer }>('SELECT hash FROM audit_logs ORDER BY id DESC LIMIT 1', { type: QueryTypes.SELECT, transaction: t });
      const fresh = await db.query<{ id: string }>(
        "SELECT nextval(pg_get_serial_sequence('audit_logs', 'id'))::text AS id FROM generate_series(1, :n) ORDER BY 1",
        { type: QueryTypes.SELECT, transaction: t, replacements: { n } },
      );
      const sortedIds = fresh.map((r) => r.id).sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
      let prev: Buffer | null = head?.hash ?? null;
      const rows = sortedIds.map((id, k) => {
        const { createdAt, ...g } = make(start + k);
        const record: AuditChainFields = { ...g, id, eventId: g.eventId ?? randomUUID(), occurredAt: new Date(g.occurredAt.getTime()) };
        const hash = computeAuditHash(prev, record);
        const row = {
          ...record,
          occurredAt: record.occurredAt.toISOString(),
          createdAt: createdAt?.toISOString() ?? null,
          prevHash: prev ? prev.toString('hex') : null,
          hash: hash.toString('hex'),
        };
        prev = hash;
        return row;
      });
      await db.query(
        `INSERT INTO audit_logs (id, event_id, type, severity, occurred_at, actor_type, actor_id, user_id, organization_id,
           session_id, ip, user_agent, request_id, details, prev_hash, hash, created_at)
         SELECT r.id, r."eventId", r.type, r.severity, r."occurredAt", r."actorType", r."actorId", r."userId", r."organizationId",
           r."sessionId", r.ip, r."userAgent", r."requestId", r.details, decode(r."prevHash", 'hex'), decode(r.hash, 'hex'),
           COALESCE(r."createdAt", clock_timestamp())
         FROM jsonb_to_recordset(:rows::jsonb) AS r(id bigint, "eventId" uuid, type text, severity text, "occurredAt" timestamptz,
           "actorType" text, "actorId" text, "userId" uuid, "organizationId" uuid, "sessionId" uuid, ip text, "userAgent" text,
           "requestId" text, details jsonb, "prevHash" text, hash text, "createdAt" timestamptz)
         ORDER BY r.id`,
        { transaction: t, replacements: { rows: JSON.stringify(rows) } },
      );
      ids.push(...sortedIds);
    });
  }
  return ids;
}

/** Fresh random ids: filters on them isolate a test's records from every other test's. */
export function pools(orgs: number, users: number, sessions: number) {
  const make = (n: number): string[] => Array.from({ length: n }, () => randomUUID() as string);
  return { orgs: make(orgs), users: make(users), sessions: make(sessions) };
}
