import { QueryTypes } from 'sequelize';
import { ensureAuditPartitions } from '../../../shared/src/audit/audit-partitions';
import { startHarness, type Harness } from '../../support/harness';
import { serviceCredential } from '../organizations/fixtures';
import { generateAuditRecords, pools, sampleRecord, type GeneratedRecord } from './audit-fixtures';

jest.setTimeout(120_000);

/**
 * A page or an export filtered by `from`/`to` alone returns exactly the records it returned when it
 * was a plain `occurred_at` filter on the id-ordered scan: same records, same order (id DESC), same
 * cursors, whatever the distance between occurred_at (chosen by the event's sender) and created_at
 * (the partition key). The records live in several partitions, in an order that is not their
 * partitions' order, and their occurred_at is mostly increasing with id but often not.
 */

const COUNT = 2_400;
const CHUNK = 600;
const MIN = 60_000;
/** Far from every other test's records (they use 2024 and later), so a window alone isolates ours. */
const B = Date.parse('2011-01-01T00:00:00.000Z');

let h: Harness;
let reader: string;
const generated: (GeneratedRecord & { id: string })[] = [];

const auth = () => ({ Authorization: `Bearer ${reader}` });

/** Chunk by chunk: two past monthly partitions, the default partition, the current month's. */
function createdAtOf(i: number): Date | undefined {
  switch (Math.floor(i / CHUNK)) {
    case 0:
      return new Date('2019-05-15T12:00:00.000Z');
    case 1:
      return new Date('2019-06-15T12:00:00.000Z');
    case 2:
      return new Date('2018-01-10T12:00:00.000Z'); // no partition: lands in audit_logs_default
    default:
      return undefined; // now
  }
}

/** Mostly one minute apart in id order; every 5th record elsewhere in the range; a few years back; some with milliseconds. */
function occurredAtOf(i: number): Date {
  if (i % 97 === 0) return new Date(B - 365 * 86_400_000 + i * MIN);
  if (i % 5 === 0) return new Date(B + ((i * 7919) % COUNT) * MIN + (i % 3 === 0 ? 0 : 17));
  return new Date(B + i * MIN);
}

beforeAll(async () => {
  h = await startHarness();
  reader = await serviceCredential(['audit:read']);
  await ensureAuditPartitions(h.deps.db, new Date('2019-05-01T00:00:00.000Z'), 1);
  const p = pools(3, 5, 7);
  const make = (i: number): GeneratedRecord => ({ ...sampleRecord(i, p, occurredAtOf(i)), createdAt: createdAtOf(i) });
  const ids = await generateAuditRecords(h.deps.db, COUNT, make, CHUNK);
  ids.forEach((id, i) => generated.push({ ...make(i), id }));
});

afterAll(async () => {
  await h?.close();
});

interface Window {
  from?: Date;
  to?: Date;
}

const inWindow = (w: Window) => (r: GeneratedRecord) =>
  (!w.from || r.occurredAt.getTime() >= w.from.getTime()) && (!w.to || r.occurredAt.getTime() < w.to.getTime());

const params = (w: Window): Record<string, string> => ({
  ...(w.from ? { from: w.from.toISOString() } : {}),
  ...(w.to ? { to: w.to.toISOString() } : {}),
});

/** The query every time-window read was before: an occurred_at filter on the id-ordered scan. */
async function reference(w: Window): Promise<string[]> {
  const rows = await h.deps.db.query<{ id: string }>(
    `SELECT id::text AS id FROM audit_logs
     WHERE (CAST(:from AS timestamptz) IS NULL OR occurred_at >= CAST(:from AS timestamptz))
       AND (CAST(:to AS timestamptz) IS NULL OR occurred_at < CAST(:to AS timestamptz))
     ORDER BY audit_logs.id DESC`,
    { type: QueryTypes.SELECT, replacements: { from: w.from?.toISOString() ?? null, to: w.to?.toISOString() ?? null } },
  );
  return rows.map((r) => r.id);
}

async function pages(w: Window, limit: number): Promise<{ items: Record<string, unknown>[]; cursors: number }> {
  const items: Record<string, unknown>[] = [];
  let cursor: string | undefined;
  let cursors = 0;
  for (;;) {
    const res = await h.http
      .get('/v1/audit-logs')
      .set(auth())
      .query({ ...params(w), limit, ...(cursor ? { cursor } : {}) });
    expect(res.status).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual(['items', 'nextCursor']);
    expect(res.body.items.length).toBeLessThanOrEqual(limit);
    items.push(...res.body.items);
    if (res.body.nextCursor === null) return { items, cursors };
    // Same cursor format as before: the id of the last record served.
    expect(JSON.parse(Buffer.from(res.body.nextCursor, 'base64url').toString('utf8'))).toEqual({ v: 1, b: items[items.length - 1]!.id });
    expect(res.body.items.length).toBe(limit);
    cursor = res.body.nextCursor as string;
    cursors += 1;
  }
}

async function exported(w: Window): Promise<Record<string, unknown>[]> {
  const res = await h.http
    .get('/v1/audit-logs/export')
    .set(auth())
    .query({ ...params(w), format: 'ndjson' })
    .buffer(true)
    .parse((r, done) => {
      let text = '';
      r.setEncoding('utf8');
      r.on('data', (c: string) => (text += c));
      r.on('end', () => done(null, text));
    });
  expect(res.status).toBe(200);
  const text = res.body as string;
  return text ? text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>) : [];
}

const at = (minutes: number, ms = 0) => new Date(B + minutes * MIN + ms);

const windows: [string, Window][] = [
  ['a window in the middle', { from: at(300), to: at(900) }],
  ['a window across two partitions', { from: at(500), to: at(1_400) }],
  ['a window at the end', { from: at(1_700), to: at(2_400) }],
  ['every record of ours', { from: new Date(B - 400 * 86_400_000), to: at(COUNT + 1) }],
  ['bounds on exact occurredAt values (from inclusive, to exclusive)', { from: at(1_001), to: at(1_251) }],
  ['bounds on milliseconds', { from: at(40, 17), to: at(1_980, 17) }],
  ['the years-back records only', { from: new Date(B - 366 * 86_400_000), to: new Date(B - 300 * 86_400_000) }],
  ['to alone', { to: at(100) }],
];

describe('time-window reads return the same records as the id-ordered scan', () => {
  it.each(windows)('%s: every page size and the export', async (_name, w) => {
    const expected = generated.filter(inWindow(w)).map((r) => r.id).reverse();
    expect(expected.length).toBeGreaterThan(5);
    // The records far from their neighbours by occurredAt, or in another partition, are in it.
    expect(await reference(w)).toEqual(expected);

    for (const limit of [500, 37, 1]) {
      if (limit === 1 && expected.length > 300) continue;
      const { items, cursors } = await pages(w, limit);
      expect(items.map((r) => r.id)).toEqual(expected);
      expect(cursors).toBe(Math.ceil(expected.length / limit) - 1);
    }
    const fromExport = await exported(w);
    expect(fromExport.map((r) => r.id)).toEqual(expected);
    const { items } = await pages(w, 500);
    expect(fromExport).toEqual(items);
  });

  it('the exact-bounds window has a record on each bound', () => {
    const times = new Set(generated.map((r) => r.occurredAt.getTime()));
    expect(times.has(at(1_001).getTime()) && times.has(at(1_251).getTime()) && times.has(at(40, 17).getTime())).toBe(true);
  });

  it('an empty window: no item, no cursor; an empty export', async () => {
    const w = { from: at(-10_000), to: at(-9_000) };
    expect(generated.filter(inWindow(w))).toHaveLength(0);
    const res = await h.http.get('/v1/audit-logs').set(auth()).query(params(w));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ items: [], nextCursor: null });
    expect(await exported(w)).toEqual([]);
  });

  it('from alone: our records in id order, inside a strictly decreasing, duplicate-free traversal', async () => {
    const w = { from: at(2_000) };
    const ours = new Set(generated.map((r) => r.id));
    const expected = generated.filter(inWindow(w)).map((r) => r.id).reverse();
    expect(expected.length).toBeGreaterThan(5);
    for (const ids of [(await pages(w, 500)).items.map((r) => r.id as string), (await exported(w)).map((r) => r.id as string)]) {
      for (let i = 1; i < ids.length; i++) expect(BigInt(ids[i]!) < BigInt(ids[i - 1]!)).toBe(true);
      expect(ids.filter((id) => ours.has(id))).toEqual(expected);
    }
  });

  it('a window combined with another filter, and a cursor from an earlier page, still match', async () => {
    const w = { from: at(200), to: at(2_200) };
    const severity = 'warning';
    const expected = generated.filter((r) => inWindow(w)(r) && r.severity === severity).map((r) => r.id).reverse();
    expect(expected.length).toBeGreaterThan(20);
    const first = await h.http.get('/v1/audit-logs').set(auth()).query({ ...params(w), severity, limit: 10 });
    expect(first.body.items.map((r: { id: string }) => r.id)).toEqual(expected.slice(0, 10));
    const next = await h.http.get('/v1/audit-logs').set(auth()).query({ ...params(w), severity, limit: 10, cursor: first.body.nextCursor });
    expect(next.body.items.map((r: { id: string }) => r.id)).toEqual(expected.slice(10, 20));
  });
});
