import { QueryTypes, type Sequelize, type Transaction } from 'sequelize';
import { rawQueryIn, type Statement } from '../db/raw-connection';
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

/**
 * A statement run in the chain's transaction after the records are linked, given the event ids of
 * those records as an escaped SQL literal of type uuid[].
 */
export type ChainedStatement = (eventIdsLiteral: string) => string;

/** How many staged records one chain transaction takes at most. */
export const STAGED_BATCH = 500;

/**
 * Seconds after which a staged record is chained although no process released it: its process
 * died between commit and release (or its release failed). Until then only released records are.
 */
export const UNRELEASED_AFTER_SECONDS = 5;

/**
 * Appends one record to the tamper-evident audit log inside the caller's transaction, at once.
 * For the rare paths (rejected events, maintenance); an event's record is staged instead
 * (`stageAuditRecords`) and chained in a batch.
 *
 * One record per event id: when the event already has one (a redelivery, or a concurrent
 * delivery that committed first) nothing is written and `inserted: false` is returned, so the
 * caller can roll back whatever it applied.
 */
export async function appendAuditRecord(db: Sequelize, t: Transaction, input: NewAuditRecord): Promise<AppendResult> {
  await lockChain(db, t);
  if (input.eventId) {
    const [existing] = await db.query<{ id: string }>('SELECT audit_id::text AS id FROM audit_event_ids WHERE event_id = :eventId', {
      type: QueryTypes.SELECT,
      transaction: t,
      replacements: { eventId: input.eventId },
    });
    if (existing) return { inserted: false, id: existing.id };
  }
  const [head] = await db.query<{ hash: Buffer | null; id: string }>(
    `SELECT (SELECT hash FROM audit_logs ORDER BY id DESC LIMIT 1) AS hash, nextval(pg_get_serial_sequence('audit_logs', 'id'))::text AS id`,
    { type: QueryTypes.SELECT, transaction: t },
  );
  const { id, hash } = head!;
  await db.query(INSERT_LINKED, { transaction: t, replacements: { rows: JSON.stringify(linkRecords(hash, [chainFields(id, input)])) } });
  return { inserted: true, id };
}

/**
 * Stages events' audit records in the caller's transaction: they commit (or not) with the events'
 * effects, without taking the chain lock. `appendStagedRecords` links them into the chain shortly
 * after. The caller guarantees one record per event (its claim on the event row); the unique
 * event id here and in the chain backs that up. One statement, whatever the number of records.
 */
export async function stageAuditRecords(db: Sequelize, t: Transaction, inputs: NewAuditRecord[]): Promise<void> {
  if (inputs.length > 0) await rawQueryIn(db, t, auditStagingStatement(inputs));
}

/** The one statement that stages `inputs` (for a caller that sends it itself, with its COMMIT). */
export function auditStagingStatement(inputs: NewAuditRecord[]): Statement {
  return {
    name: 'lk_audit_stage',
    text: 'INSERT INTO audit_staged (event_id, record) SELECT * FROM unnest($1::uuid[], $2::jsonb[])',
    values: [inputs.map((i) => i.eventId ?? null), inputs.map((i) => JSON.stringify(i))],
  };
}

/**
 * Moves up to `limit` staged records into the chain, oldest first: those of the `released` event
 * ids, and any staged more than UNRELEASED_AFTER_SECONDS ago. In one transaction under the
 * chain lock, in two round trips on one pooled connection (simple-query batches: each statement
 * still takes its own snapshot, so everything after the lock sees the previous batch committed):
 * 1. BEGIN; take the lock; read the staged records, each with a new id; read the chain's head;
 * 2. insert the linked records, delete them from staging, `then` (if given), COMMIT.
 * Every worker process may call it; the lock makes them take turns. Returns how many records were
 * chained (fewer than `limit`: nothing was left when it looked).
 */
export async function appendStagedRecords(db: Sequelize, limit = STAGED_BATCH, then?: ChainedStatement, released: string[] = []): Promise<number> {
  const manager = db.connectionManager;
  const client = (await manager.getConnection({ type: 'write' })) as SimpleQueryClient;
  try {
    const read = await client.query(
      `BEGIN; SELECT pg_advisory_xact_lock(${AUDIT_CHAIN_LOCK[0]}, ${AUDIT_CHAIN_LOCK[1]});
       SELECT s.seq::text AS seq, s.event_id, s.record, e.event_id IS NOT NULL AS taken,
         nextval(pg_get_serial_sequence('audit_logs', 'id'))::text AS id
       FROM (SELECT seq, event_id, record FROM audit_staged
             WHERE event_id = ANY(${client.escapeLiteral(`{${released.join(',')}}`)}::uuid[]) OR staged_at < now() - make_interval(secs => ${UNRELEASED_AFTER_SECONDS})
             ORDER BY seq LIMIT ${Math.trunc(limit)}) s
       LEFT JOIN audit_event_ids e ON e.event_id = s.event_id;
       SELECT hash FROM audit_logs ORDER BY id DESC LIMIT 1;`,
    );
    const staged = read[2]!.rows as Array<{ seq: string; event_id: string | null; record: NewAuditRecord; taken: boolean; id: string }>;
    if (staged.length === 0) {
      await client.query('COMMIT');
      return 0;
    }
    // Chain order is id order (whatever order nextval ran in).
    staged.sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1));
    const prevHash = (read[3]!.rows[0] as { hash: Buffer } | undefined)?.hash ?? null;
    const rows = linkRecords(
      prevHash,
      staged.map((s) => chainFields(s.id, s.taken ? unlinked(s.record) : s.record)),
    );
    const eventIds = staged.flatMap((s) => (s.event_id ? [s.event_id] : []));
    await client.query(
      `${INSERT_LINKED.replace(':rows', () => client.escapeLiteral(JSON.stringify(rows)))};
       DELETE FROM audit_staged WHERE seq = ANY(${client.escapeLiteral(`{${staged.map((s) => s.seq).join(',')}}`)}::bigint[]);
       ${then ? `${then(`${client.escapeLiteral(`{${eventIds.join(',')}}`)}::uuid[]`)};` : ''}
       COMMIT;`,
    );
    return staged.length;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    manager.releaseConnection(client);
  }
}

/** The `pg` client under Sequelize's pool: multi-statement simple queries and literal escaping. */
interface SimpleQueryClient {
  query(text: string): Promise<Array<{ rows: unknown[] }>>;
  escapeLiteral(value: string): string;
}

/**
 * A staged record whose event already has a chain record. Claims make that impossible; should it
 * happen anyway, the record is still kept (an audit record is never dropped), without the event
 * link (one record per event id), naming the event in its details, and the chain does not stall.
 */
function unlinked(record: NewAuditRecord): NewAuditRecord {
  return { ...record, eventId: null, details: { ...record.details, duplicateOfEventId: record.eventId } };
}

async function lockChain(db: Sequelize, t: Transaction): Promise<void> {
  await db.query('SELECT pg_advisory_xact_lock(:a, :b)', {
    transaction: t,
    replacements: { a: AUDIT_CHAIN_LOCK[0], b: AUDIT_CHAIN_LOCK[1] },
  });
}

/** A uuid as Postgres stores (and the verifier reads) it: lower case. */
const storedUuid = (value: string | null | undefined) => value?.toLowerCase() ?? null;

/** The stored form of a record: what its hash covers. */
function chainFields(id: string, input: NewAuditRecord): AuditChainFields {
  return {
    id,
    eventId: storedUuid(input.eventId),
    type: input.type,
    severity: input.severity,
    // Stored with millisecond precision so the verifier can recompute the same bytes.
    occurredAt: new Date(new Date(input.occurredAt).getTime()),
    actorType: input.actor.type,
    actorId: input.actor.id ?? null,
    userId: storedUuid(input.userId),
    organizationId: storedUuid(input.organizationId),
    sessionId: storedUuid(input.sessionId),
    ip: input.ip ?? null,
    userAgent: input.userAgent ?? null,
    requestId: input.requestId ?? null,
    details: JSON.parse(JSON.stringify(input.details ?? {})) as Record<string, unknown>,
  };
}

/** Links `records` (ids ascending) after `prevHash`: the rows INSERT_LINKED takes, as JSON. */
function linkRecords(prevHash: Buffer | null, records: AuditChainFields[]) {
  let prev = prevHash;
  return records.map((record) => {
    const hash = computeAuditHash(prev, record);
    const row = { ...record, occurredAt: record.occurredAt.toISOString(), prevHash: prev?.toString('hex') ?? null, hash: hash.toString('hex') };
    prev = hash;
    return row;
  });
}

/** Inserts linked records, given as one JSON array in place of `:rows`. */
const INSERT_LINKED = `INSERT INTO audit_logs (id, event_id, type, severity, occurred_at, actor_type, actor_id, user_id, organization_id,
    session_id, ip, user_agent, request_id, details, prev_hash, hash)
  SELECT r."id", r."eventId", r."type", r."severity", r."occurredAt", r."actorType", r."actorId", r."userId", r."organizationId",
    r."sessionId", r."ip", r."userAgent", r."requestId", r."details", decode(r."prevHash", 'hex'), decode(r."hash", 'hex')
  FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r("id" bigint, "eventId" uuid, "type" text, "severity" text,
    "occurredAt" timestamptz, "actorType" text, "actorId" text, "userId" uuid, "organizationId" uuid, "sessionId" uuid,
    "ip" text, "userAgent" text, "requestId" text, "details" jsonb, "prevHash" text, "hash" text)
  ORDER BY r."id"`;
