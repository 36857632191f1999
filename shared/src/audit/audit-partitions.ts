import { QueryTypes, type Sequelize } from 'sequelize';
import { AUDIT_CHAIN_LOCK } from './audit-writer';

/** One monthly partition of audit_logs, by the UTC month of created_at. */
export interface AuditPartition {
  name: string;
  from: Date;
  to: Date;
}

function monthStart(year: number, month: number): Date {
  return new Date(Date.UTC(year, month, 1));
}

/** The partition holding `at`'s UTC month: `audit_logs_2025_01` for [2025-01-01, 2025-02-01). */
export function partitionFor(at: Date): AuditPartition {
  const from = monthStart(at.getUTCFullYear(), at.getUTCMonth());
  const to = monthStart(at.getUTCFullYear(), at.getUTCMonth() + 1);
  const name = `audit_logs_${from.getUTCFullYear()}_${String(from.getUTCMonth() + 1).padStart(2, '0')}`;
  return { name, from, to };
}

/** The existing bounded partitions, oldest first (the default partition has no bounds: left out). */
export async function listAuditPartitions(db: Sequelize): Promise<AuditPartition[]> {
  const rows = await db.query<{ name: string; bound: string }>(
    `SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound
     FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = 'audit_logs'::regclass`,
    { type: QueryTypes.SELECT },
  );
  const parts: AuditPartition[] = [];
  for (const row of rows) {
    const m = /FROM \('([^']+)'\) TO \('([^']+)'\)/.exec(row.bound);
    if (m) parts.push({ name: row.name, from: new Date(m[1]!), to: new Date(m[2]!) });
  }
  return parts.sort((a, b) => a.from.getTime() - b.from.getTime());
}

/**
 * Creates the partitions of `at`'s month and of the `monthsAhead` following ones when missing, so
 * writes never land in the default partition. A month whose rows already sit in the default
 * partition (the job did not run in time) is left there and reported rather than failing.
 */
export async function ensureAuditPartitions(db: Sequelize, at = new Date(), monthsAhead = 3): Promise<{ created: string[]; skipped: string[] }> {
  const existing = new Set((await listAuditPartitions(db)).map((p) => p.name));
  const created: string[] = [];
  const skipped: string[] = [];
  for (let i = 0; i <= monthsAhead; i += 1) {
    const p = partitionFor(monthStart(at.getUTCFullYear(), at.getUTCMonth() + i));
    if (existing.has(p.name)) continue;
    try {
      await db.query(`CREATE TABLE IF NOT EXISTS "${p.name}" PARTITION OF audit_logs FOR VALUES FROM (:from) TO (:to)`, {
        replacements: { from: p.from.toISOString(), to: p.to.toISOString() },
      });
      created.push(p.name);
    } catch {
      skipped.push(p.name);
    }
  }
  return { created, skipped };
}

/** What a retention run did. */
export interface RetentionResult {
  dropped: { name: string; rows: number; lastId: string | null }[];
  /** Set when a partition could not be dropped without cutting the chain in its middle. */
  stoppedAt?: string;
}

/**
 * Retention: drops whole monthly partitions whose month ended more than `retentionMonths` ago
 * (counted in whole months before the current one). Never deletes rows one by one.
 *
 * The chain stays verifiable across the cut: before a non-empty partition is dropped, the id and
 * hash of its last record are kept in `audit_chain_anchors`, and the first remaining record links
 * to that hash (audit-verify.ts). The run holds the chain lock, so no append interleaves, and it
 * refuses to drop a partition if any remaining record has a smaller id (the cut must be a prefix of
 * the chain; it could only fail after the clock went backwards).
 */
export async function applyAuditRetention(db: Sequelize, retentionMonths: number, now = new Date()): Promise<RetentionResult> {
  const result: RetentionResult = { dropped: [] };
  if (retentionMonths <= 0) return result;
  const cutoff = monthStart(now.getUTCFullYear(), now.getUTCMonth() - retentionMonths);
  const candidates = (await listAuditPartitions(db)).filter((p) => p.to.getTime() <= cutoff.getTime());
  if (candidates.length === 0) return result;
  await db.transaction(async (t) => {
    await db.query('SELECT pg_advisory_xact_lock(:a, :b)', { transaction: t, replacements: { a: AUDIT_CHAIN_LOCK[0], b: AUDIT_CHAIN_LOCK[1] } });
    for (const p of candidates) {
      const table = `"${p.name}"`;
      const [last] = await db.query<{ id: string; hash: Buffer; rows: string }>(
        `SELECT id::text AS id, hash, (SELECT count(*) FROM ${table})::text AS rows FROM ${table} ORDER BY ${table}.id DESC LIMIT 1`,
        { type: QueryTypes.SELECT, transaction: t },
      );
      if (last) {
        const [{ below }] = (await db.query<{ below: boolean }>(
          `SELECT EXISTS (SELECT 1 FROM audit_logs WHERE id < :id AND tableoid <> '${table}'::regclass) AS below`,
          { type: QueryTypes.SELECT, transaction: t, replacements: { id: last.id } },
        )) as [{ below: boolean }];
        if (below) {
          result.stoppedAt = p.name;
          return;
        }
        await db.query(
          `INSERT INTO audit_chain_anchors (last_dropped_id, last_dropped_hash, partition_name, dropped_rows)
           VALUES (:id, :hash, :name, :rows)`,
          { transaction: t, replacements: { id: last.id, hash: last.hash, name: p.name, rows: last.rows } },
        );
      }
      await db.query(`DROP TABLE ${table}`, { transaction: t });
      result.dropped.push({ name: p.name, rows: last ? Number(last.rows) : 0, lastId: last?.id ?? null });
    }
  });
  return result;
}
