import { QueryTypes, type Sequelize } from 'sequelize';
import { computeAuditHash, type AuditChainFields } from './canonical';
import type { AuditRow } from './audit-record';

/** The answer of `GET /v1/audit-logs/verify`. */
export interface ChainVerification {
  ok: boolean;
  checked: number;
  firstBrokenId?: string;
}

type ChainRow = AuditRow & { prev_hash: Buffer | null; hash: Buffer };

const BATCH = 2_000;

const COLUMNS = `id::text AS id, event_id, type, severity, occurred_at, actor_type, actor_id, user_id, organization_id,
  session_id, ip, user_agent, request_id, details, prev_hash, hash`;

function chainFields(row: ChainRow): AuditChainFields {
  return {
    id: row.id,
    eventId: row.event_id,
    type: row.type,
    severity: row.severity,
    occurredAt: new Date(row.occurred_at),
    actorType: row.actor_type,
    actorId: row.actor_id,
    userId: row.user_id,
    organizationId: row.organization_id,
    sessionId: row.session_id,
    ip: row.ip,
    userAgent: row.user_agent,
    requestId: row.request_id,
    details: row.details ?? {},
  };
}

/**
 * The hash a record with this id must link to: the hash of the record just before it, or, when
 * retention dropped everything before it, the hash of the last dropped record kept in
 * `audit_chain_anchors`, or null for the very first record of the chain.
 */
async function expectedPrevHash(db: Sequelize, id: string): Promise<Buffer | null> {
  const [prev] = await db.query<{ hash: Buffer }>('SELECT hash FROM audit_logs WHERE id < :id ORDER BY id DESC LIMIT 1', {
    type: QueryTypes.SELECT,
    replacements: { id },
  });
  if (prev) return prev.hash;
  const [anchor] = await db.query<{ last_dropped_hash: Buffer }>(
    'SELECT last_dropped_hash FROM audit_chain_anchors WHERE last_dropped_id < :id ORDER BY last_dropped_id DESC LIMIT 1',
    { type: QueryTypes.SELECT, replacements: { id } },
  );
  return anchor?.last_dropped_hash ?? null;
}

/**
 * Walks the chain in id order (the whole of it, or `fromId`..`toId` inclusive), recomputing each
 * record's hash from its stored fields and its predecessor's hash. An edited record fails its own
 * hash; a deleted one breaks the link of the record after it; an inserted one fails its hash or
 * breaks the next link. Reads in batches, so any length is checked in constant memory.
 *
 * What it cannot see: a superuser who rewrites every hash after the change, or removes records at
 * the very end. Those need the head hash kept outside the database (an export, or a periodic
 * `audit.exported` record carrying it); see the README.
 */
export async function verifyAuditChain(db: Sequelize, range: { fromId?: string; toId?: string } = {}): Promise<ChainVerification> {
  let checked = 0;
  let after: string | undefined;
  let prevHash: Buffer | null | undefined;
  for (;;) {
    const clauses: string[] = [];
    if (after) clauses.push('id > :after');
    else if (range.fromId) clauses.push('id >= :fromId');
    if (range.toId) clauses.push('id <= :toId');
    const rows = await db.query<ChainRow>(
      `SELECT ${COLUMNS} FROM audit_logs ${clauses.length ? `WHERE ${clauses.join(' AND ')}` : ''} ORDER BY audit_logs.id ASC LIMIT ${BATCH}`,
      { type: QueryTypes.SELECT, replacements: { after, fromId: range.fromId, toId: range.toId } },
    );
    if (rows.length === 0) break;
    if (prevHash === undefined) prevHash = await expectedPrevHash(db, rows[0]!.id);
    for (const row of rows) {
      const linked = prevHash === null ? row.prev_hash === null : row.prev_hash !== null && prevHash.equals(row.prev_hash);
      if (!linked || !computeAuditHash(prevHash, chainFields(row)).equals(row.hash)) {
        return { ok: false, checked, firstBrokenId: row.id };
      }
      checked += 1;
      prevHash = row.hash;
    }
    if (rows.length < BATCH) break;
    after = rows[rows.length - 1]!.id;
  }
  return { ok: true, checked };
}
