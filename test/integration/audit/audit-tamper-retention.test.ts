import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { QueryTypes, type Sequelize } from 'sequelize';
import { applyAuditRetention, ensureAuditPartitions, listAuditPartitions } from '../../../shared/src/audit/audit-partitions';
import { verifyAuditChain } from '../../../shared/src/audit/audit-verify';
import { appendAuditRecord } from '../../../shared/src/audit/audit-writer';
import { startHarness, type Harness } from '../../support/harness';
import { createOwnDatabase } from '../../support/own-database';
import { serviceCredential } from '../organizations/fixtures';

jest.setTimeout(60_000);

// Tampering and retention change the whole chain, so they run on a database of their own.
let own: Awaited<ReturnType<typeof createOwnDatabase>>;
let h: Harness;
let db: Sequelize;
let superuser: Client;
let reader: string;
const ids: string[] = [];

/** SQL run as the superuser with triggers off, as an attacker with database access would. */
async function tamper(sql: string, params: unknown[] = []): Promise<void> {
  await superuser.query('SET session_replication_role = replica');
  try {
    await superuser.query(sql, params);
  } finally {
    await superuser.query('SET session_replication_role = origin');
  }
}

async function verifyHttp(query: Record<string, string> = {}) {
  const res = await h.http.get('/v1/audit-logs/verify').set('Authorization', `Bearer ${reader}`).query(query);
  expect(res.status).toBe(200);
  return res.body;
}

beforeAll(async () => {
  own = await createOwnDatabase('audit_tamper');
  h = await startHarness({ DATABASE_URL: own.url });
  db = h.deps.db;
  superuser = new Client({ connectionString: own.url });
  await superuser.connect();
  reader = await serviceCredential(['audit:read']);
  for (let i = 0; i < 30; i += 1) {
    // A rolled-back append leaves a hole in the ids (here, after the 15th record).
    if (i === 15) await db.query("SELECT nextval(pg_get_serial_sequence('audit_logs', 'id'))");
    const appended = await db.transaction((t) =>
      appendAuditRecord(db, t, {
        eventId: randomUUID(),
        type: i % 3 ? 'auth.login_succeeded' : 'refresh_token.reused',
        severity: i % 3 ? 'info' : 'critical',
        occurredAt: new Date(),
        actor: { type: 'system', id: 'test' },
        userId: randomUUID(),
        details: { i, nested: { b: 1, a: [1, 2] } },
      }),
    );
    ids.push(appended.id);
  }
});

afterAll(async () => {
  await superuser?.end();
  await h?.close();
  await own.drop().catch(() => undefined);
});

describe('tamper evidence', () => {
  it('an intact chain verifies, whole or by range', async () => {
    expect(await verifyHttp()).toEqual({ ok: true, checked: 30 });
    expect(await verifyHttp({ fromId: ids[5]!, toId: ids[9]! })).toEqual({ ok: true, checked: 5 });
  });

  it('detects an edited record (and recovers once it is restored)', async () => {
    const victim = ids[12]!;
    const [before] = await db.query<{ details: unknown }>('SELECT details FROM audit_logs WHERE id = :id', { type: QueryTypes.SELECT, replacements: { id: victim } });
    await tamper(`UPDATE audit_logs SET details = details || '{"i": 999}' WHERE id = $1`, [victim]);
    expect(await verifyHttp()).toEqual({ ok: false, checked: 12, firstBrokenId: victim });
    expect(await verifyHttp({ fromId: ids[14]! })).toEqual({ ok: true, checked: 16 });
    await tamper('UPDATE audit_logs SET details = $2 WHERE id = $1', [victim, JSON.stringify(before!.details)]);
    expect(await verifyHttp()).toEqual({ ok: true, checked: 30 });
  });

  it('detects a deleted record', async () => {
    const victim = ids[20]!;
    const [row] = await superuser.query('SELECT * FROM audit_logs WHERE id = $1', [victim]).then((r) => r.rows);
    await tamper('DELETE FROM audit_logs WHERE id = $1', [victim]);
    expect(await verifyHttp()).toEqual({ ok: false, checked: 20, firstBrokenId: ids[21] });
    const cols = Object.keys(row).filter((c) => c !== 'type_family');
    await tamper(`INSERT INTO audit_logs (${cols.join(',')}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(',')})`, cols.map((c) => row[c]));
    expect(await verifyHttp()).toEqual({ ok: true, checked: 30 });
  });

  it('detects an inserted record, in the middle or at the end', async () => {
    const [last] = await superuser.query('SELECT hash FROM audit_logs ORDER BY id DESC LIMIT 1').then((r) => r.rows);
    await tamper(
      `INSERT INTO audit_logs (id, type, severity, occurred_at, actor_type, prev_hash, hash)
       VALUES ($1, 'user.reinstated', 'info', now(), 'system', $2, $3)`,
      ['999999', last.hash, Buffer.alloc(32, 7)],
    );
    expect(await verifyHttp()).toEqual({ ok: false, checked: 30, firstBrokenId: '999999' });
    await tamper("DELETE FROM audit_logs WHERE id = '999999'");
    // In the middle, in the hole left by a rolled-back append, claiming to follow record 15.
    const hole = String(BigInt(ids[14]!) + 1n);
    expect(BigInt(ids[15]!)).toBe(BigInt(hole) + 1n);
    const [prev] = await superuser.query('SELECT hash, created_at FROM audit_logs WHERE id = $1', [ids[14]]).then((r) => r.rows);
    await tamper(
      `INSERT INTO audit_logs (id, type, severity, occurred_at, actor_type, prev_hash, hash, created_at)
       VALUES ($1, 'user.reinstated', 'info', now(), 'system', $2, $3, $4)`,
      [hole, prev.hash, Buffer.alloc(32, 9), prev.created_at],
    );
    expect(await verifyHttp()).toEqual({ ok: false, checked: 15, firstBrokenId: hole });
    await tamper('DELETE FROM audit_logs WHERE hash = $1', [Buffer.alloc(32, 9)]);
    expect(await verifyHttp()).toEqual({ ok: true, checked: 30 });
  });
});

describe('retention', () => {
  it('drops whole old partitions and keeps the chain verifiable across the cut', async () => {
    expect((await ensureAuditPartitions(db, new Date('2020-01-15T00:00:00Z'), 1)).created).toEqual(['audit_logs_2020_01', 'audit_logs_2020_02']);
    // Age the first 15 records into January and February 2020 (superuser: moving rows is an update).
    await tamper(`UPDATE audit_logs SET created_at = '2020-01-10T00:00:00Z' WHERE id <= $1`, [ids[7]]);
    await tamper(`UPDATE audit_logs SET created_at = '2020-02-10T00:00:00Z' WHERE id > $1 AND id <= $2`, [ids[7], ids[14]]);
    expect(await verifyHttp()).toEqual({ ok: true, checked: 30 });

    const none = await applyAuditRetention(db, 0);
    expect(none.dropped).toEqual([]);
    const result = await applyAuditRetention(db, 12);
    expect(result.dropped).toEqual([
      { name: 'audit_logs_2020_01', rows: 8, lastId: ids[7] },
      { name: 'audit_logs_2020_02', rows: 7, lastId: ids[14] },
    ]);
    const names = (await listAuditPartitions(db)).map((p) => p.name);
    expect(names).not.toContain('audit_logs_2020_01');
    expect(await verifyHttp()).toEqual({ ok: true, checked: 15 });
    const anchors = await db.query<{ last_dropped_id: string }>('SELECT last_dropped_id::text FROM audit_chain_anchors ORDER BY id', { type: QueryTypes.SELECT });
    expect(anchors.map((a) => a.last_dropped_id)).toEqual([ids[7], ids[14]]);
    await expect(db.query('DELETE FROM audit_chain_anchors')).rejects.toThrow(/append-only/);

    // Removing the first surviving record is still detected: the next one no longer links to the anchor.
    const first = ids[15]!;
    const [row] = await superuser.query('SELECT * FROM audit_logs WHERE id = $1', [first]).then((r) => r.rows);
    await tamper('DELETE FROM audit_logs WHERE id = $1', [first]);
    expect(await verifyHttp()).toEqual({ ok: false, checked: 0, firstBrokenId: ids[16] });
    const cols = Object.keys(row).filter((c) => c !== 'type_family');
    await tamper(`INSERT INTO audit_logs (${cols.join(',')}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(',')})`, cols.map((c) => row[c]));
    expect(await verifyHttp()).toEqual({ ok: true, checked: 15 });

    // New records keep chaining after the cut.
    await db.transaction((t) =>
      appendAuditRecord(db, t, { eventId: randomUUID(), type: 'auth.logout', severity: 'info', occurredAt: new Date(), actor: { type: 'system', id: 't' } }),
    );
    expect(await verifyAuditChain(db)).toEqual({ ok: true, checked: 16 });
  });
});
