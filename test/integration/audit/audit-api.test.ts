import { randomUUID } from 'node:crypto';
import { QueryTypes } from 'sequelize';
import { appendAuditRecord } from '../../../shared/src/audit/audit-writer';
import { parseEvent } from '../../../shared/src/events/schemas';
import { processJob } from '../../../workers/src/process-event';
import { PASSWORD, startHarness, type Harness } from '../../support/harness';
import type { BrowserSession } from '../../support/browser-session';
import { createOrganization, handlerContext, memberSignedIn, serviceCredential } from '../organizations/fixtures';
import { generateAuditRecords, pools, sampleRecord, type GeneratedRecord } from './audit-fixtures';

jest.setTimeout(120_000);

const COUNT = 3_000;
const T0 = Date.parse('2024-03-01T00:00:00.000Z');

let h: Harness;
let reader: string; // service credential with audit:read
let orgA: string;
let orgB: string;
let auditorA: BrowserSession;
let auditorB: BrowserSession;
let memberA: BrowserSession;
let p: ReturnType<typeof pools>;
const generated: (GeneratedRecord & { id: string })[] = [];

const auth = (token: string) => ({ Authorization: `Bearer ${token}` });

async function all(token: string, query: Record<string, string | number>): Promise<{ id: string; organizationId: string }[]> {
  const out: { id: string; organizationId: string }[] = [];
  let cursor: string | undefined;
  do {
    const res = await h.http.get('/v1/audit-logs').set(auth(token)).query({ ...query, limit: 500, ...(cursor ? { cursor } : {}) });
    expect(res.status).toBe(200);
    out.push(...res.body.items);
    cursor = res.body.nextCursor ?? undefined;
  } while (cursor);
  return out;
}

beforeAll(async () => {
  h = await startHarness();
  reader = await serviceCredential(['audit:read']);
  const admin = await serviceCredential(['organizations:write', 'organizations:read']);
  orgA = await createOrganization(h, admin, 'Audit A');
  orgB = await createOrganization(h, admin, 'Audit B');
  auditorA = await memberSignedIn(h, admin, orgA, 'auditor');
  auditorB = await memberSignedIn(h, admin, orgB, 'auditor');
  memberA = await memberSignedIn(h, admin, orgA, 'member');
  p = pools(2, 7, 11);
  p.orgs = [orgA, orgB];
  const make = (i: number) => sampleRecord(i, p, new Date(T0 + i * 60_000));
  const ids = await generateAuditRecords(h.deps.db, COUNT, make, 1_000);
  ids.forEach((id, i) => generated.push({ ...make(i), id }));
});

afterAll(async () => {
  await h?.close();
});

describe('GET /v1/audit-logs filters', () => {
  const cases: [string, (r: GeneratedRecord) => boolean, () => Record<string, string>][] = [
    ['organizationId', (r) => r.organizationId === orgB, () => ({ organizationId: orgB })],
    ['userId', (r) => r.userId === p.users[3], () => ({ userId: p.users[3]! })],
    ['sessionId', (r) => r.sessionId === p.sessions[5], () => ({ sessionId: p.sessions[5]! })],
    ['type exact', (r) => r.type === 'session.revoked' && r.organizationId === orgB, () => ({ type: 'session.revoked', organizationId: orgB })],
    ['type prefix', (r) => r.type.startsWith('refresh_token.') && r.userId === p.users[1], () => ({ type: 'refresh_token.*', userId: p.users[1]! })],
    ['severity', (r) => r.severity === 'warning' && r.organizationId === orgA, () => ({ severity: 'warning', organizationId: orgA })],
    [
      'from/to',
      (r) => r.userId === p.users[2] && r.occurredAt.getTime() >= T0 + 500 * 60_000 && r.occurredAt.getTime() < T0 + 1500 * 60_000,
      () => ({ userId: p.users[2]!, from: new Date(T0 + 500 * 60_000).toISOString(), to: new Date(T0 + 1500 * 60_000).toISOString() }),
    ],
  ];
  it.each(cases)('%s returns exactly the matching records, newest first', async (_name, match, query) => {
    const expected = generated.filter(match).map((r) => r.id).reverse();
    expect(expected.length).toBeGreaterThan(10);
    const ids = (await all(reader, query())).map((r) => r.id);
    expect(ids).toEqual(expected);
  });

  it('refuses a bad limit, a bad cursor and a bad type with validation_failed', async () => {
    for (const query of [{ limit: 501 }, { cursor: 'nope' }, { type: 'x;drop' }, { from: 'yesterday' }]) {
      const res = await h.http.get('/v1/audit-logs').set(auth(reader)).query(query);
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('validation_failed');
    }
  });

  it('returns the contract record shape', async () => {
    const res = await h.http.get('/v1/audit-logs').set(auth(reader)).query({ userId: p.users[0], limit: 1 });
    expect(Object.keys(res.body.items[0]).sort()).toEqual(
      ['id', 'eventId', 'type', 'severity', 'occurredAt', 'actor', 'userId', 'organizationId', 'sessionId', 'ip', 'userAgent', 'requestId', 'details'].sort(),
    );
    expect(res.body.items[0].actor).toEqual({ type: expect.any(String), id: expect.any(String) });
  });
});

describe('pagination under concurrent inserts', () => {
  it('pages through every record once, no duplicate and no gap, while others are appended', async () => {
    let stop = false;
    let appended = 0;
    // Eight concurrent writers through the real writer (chain lock), on the same organization.
    const writers = Array.from({ length: 8 }, async (_, w) => {
      while (!stop) {
        await h.deps.db.transaction((t) =>
          appendAuditRecord(h.deps.db, t, {
            eventId: randomUUID(),
            type: 'auth.login_succeeded',
            severity: 'info',
            occurredAt: new Date(),
            actor: { type: 'system', id: `writer-${w}` },
            organizationId: orgA,
            userId: p.users[0],
          }),
        );
        appended += 1;
      }
    });
    // Interleave for sure: at least one new record is committed between every two pages.
    const appendedAtLeast = async (n: number) => {
      while (appended < n) await new Promise((r) => setTimeout(r, 5));
    };
    await appendedAtLeast(8);
    let pages = 0;
    const seen: string[] = [];
    let cursor: string | undefined;
    let head: string | undefined;
    do {
      const res = await h.http.get('/v1/audit-logs').set(auth(reader)).query({ organizationId: orgA, limit: 97, ...(cursor ? { cursor } : {}) });
      expect(res.status).toBe(200);
      head ??= res.body.items[0].id;
      seen.push(...res.body.items.map((i: { id: string }) => i.id));
      cursor = res.body.nextCursor ?? undefined;
      pages += 1;
      await appendedAtLeast(appended + 1);
    } while (cursor);
    stop = true;
    await Promise.all(writers);
    expect(pages).toBeGreaterThan(10);
    expect(appended).toBeGreaterThanOrEqual(8 + pages);
    expect(new Set(seen).size).toBe(seen.length);
    const truth = await h.deps.db.query<{ id: string }>(
      'SELECT id::text AS id FROM audit_logs WHERE organization_id = :orgA AND id <= :head ORDER BY audit_logs.id DESC',
      { type: QueryTypes.SELECT, replacements: { orgA, head } },
    );
    expect(seen).toEqual(truth.map((r) => r.id));
    // Records appended meanwhile were written too: some sit above the traversal's head.
    const [{ above }] = await h.deps.db.query<{ above: number }>('SELECT count(*)::int AS above FROM audit_logs WHERE organization_id = :orgA AND id > :head', {
      type: QueryTypes.SELECT,
      replacements: { orgA, head },
    });
    expect(above).toBeGreaterThan(0);
  });
});

describe('access', () => {
  it('a user auditor sees only their organization, and cannot ask for another', async () => {
    const mine = await all(auditorA.accessToken, { userId: p.users[4]! });
    expect(mine.length).toBeGreaterThan(0);
    expect(mine.every((r) => r.organizationId === orgA)).toBe(true);
    const other = await h.http.get('/v1/audit-logs').set(auth(auditorA.accessToken)).query({ organizationId: orgB });
    expect(other.status).toBe(403);
    expect(other.body.code).toBe('forbidden');
    const recordOfB = generated.find((r) => r.organizationId === orgB)!;
    expect((await h.http.get(`/v1/audit-logs/${recordOfB.id}`).set(auth(auditorA.accessToken))).status).toBe(404);
    expect((await h.http.get(`/v1/audit-logs/${recordOfB.id}`).set(auth(auditorB.accessToken))).body.id).toBe(recordOfB.id);
    const exported = await h.http.get('/v1/audit-logs/export').set(auth(auditorA.accessToken)).query({ userId: p.users[4] }).buffer(true);
    const lines = exported.text.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.length).toBe(generated.filter((r) => r.organizationId === orgA && r.userId === p.users[4]).length);
    expect(lines.every((r) => r.organizationId === orgA)).toBe(true);
  });

  it('refuses members without audit:read, credentials without the scope, and no credential', async () => {
    const member = await h.http.get('/v1/audit-logs').set(auth(memberA.accessToken));
    expect(member.status).toBe(403);
    const noScope = await serviceCredential(['events:write']);
    expect((await h.http.get('/v1/audit-logs').set(auth(noScope))).status).toBe(403);
    const none = await h.http.get('/v1/audit-logs/export');
    expect(none.status).toBe(401);
    expect(none.body.code).toBe('invalid_token');
    const bad = await h.http.get('/v1/audit-logs').set(auth('not-a-token'));
    expect(bad.status).toBe(401);
    expect(bad.headers['www-authenticate']).toMatch(/invalid_token/);
  });

  it("lists a user's sessions only inside the auditor's organization", async () => {
    const a = await h.http.get(`/v1/audit-logs/users/${memberA.userId}/sessions`).set(auth(auditorA.accessToken));
    expect(a.status).toBe(200);
    expect(a.body.sessions.map((s: { id: string }) => s.id)).toContain(memberA.sessionId);
    const b = await h.http.get(`/v1/audit-logs/users/${memberA.userId}/sessions`).set(auth(auditorB.accessToken));
    expect(b.body.sessions).toEqual([]);
  });
});

describe('export', () => {
  it('streams CSV and NDJSON, and the export itself is audited through the outbox', async () => {
    const expected = generated.filter((r) => r.sessionId === p.sessions[2]);
    const csv = await h.http.get('/v1/audit-logs/export').set(auth(reader)).query({ sessionId: p.sessions[2], format: 'csv' }).buffer(true);
    expect(csv.status).toBe(200);
    expect(csv.headers['content-type']).toMatch(/text\/csv/);
    const rows = csv.text.trim().split('\r\n');
    expect(rows[0]).toBe('id,eventId,type,severity,occurredAt,actorType,actorId,userId,organizationId,sessionId,ip,userAgent,requestId,details');
    expect(rows.length - 1).toBe(expected.length);
    expect(rows[1]!.split(',')[0]).toBe(expected[expected.length - 1]!.id);

    const eventId = csv.headers['x-audit-export-event'];
    const [row] = await h.deps.db.query<{ type: string; data: unknown; occurred_at: Date; source: string; actor_type: string; actor_id: string }>(
      'SELECT type, data, occurred_at, source, actor_type, actor_id FROM events WHERE id = :eventId',
      { type: QueryTypes.SELECT, replacements: { eventId } },
    );
    expect(row).toMatchObject({ type: 'audit.exported', actor_type: 'service' });
    const event = parseEvent({
      id: eventId,
      type: row!.type,
      version: 1,
      occurredAt: row!.occurred_at.toISOString(),
      source: row!.source,
      actor: { type: row!.actor_type, id: row!.actor_id },
      data: row!.data,
    });
    const job = { id: eventId, name: event.type, data: event, attemptsMade: 0, opts: {}, timestamp: Date.now() };
    const ctx = handlerContext(h);
    expect(await processJob(job, ctx)).toBe('applied');
    expect(await processJob(job, handlerContext(h))).toBe('duplicate');
    await ctx.auditChain.flushed();
    const audit = await h.http.get('/v1/audit-logs').set(auth(reader)).query({ type: 'audit.exported', limit: 500 });
    const mine = audit.body.items.filter((r: { eventId: string }) => r.eventId === eventId);
    expect(mine).toHaveLength(1);
    expect(mine[0].details).toMatchObject({ format: 'csv', filters: { sessionId: p.sessions[2] } });
  });

  it('takes a service credential under any case of the Bearer scheme', async () => {
    const res = await h.http.get('/v1/audit-logs').set('Authorization', `bearer ${reader}`).query({ limit: 1 });
    expect(res.status).toBe(200);
  });

  it('refuses a malformed type filter with a problem+json before starting (nothing exported, nothing recorded)', async () => {
    const requestId = `bad-type-${randomUUID()}`;
    for (const type of ['*', '%', "'", 'a.*.*']) {
      const res = await h.http.get('/v1/audit-logs/export').set(auth(reader)).set('X-Request-Id', requestId).query({ type });
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
      expect(res.headers['content-disposition']).toBeUndefined();
      expect(res.body.code).toBe('validation_failed');
    }
    const recorded = await h.deps.db.query('SELECT 1 FROM events WHERE request_id = :requestId', { type: QueryTypes.SELECT, replacements: { requestId } });
    expect(recorded).toHaveLength(0);
  });

  it('refuses audit.exported from product backends', async () => {
    const writer = await serviceCredential(['events:write']);
    const res = await h.http
      .post('/v1/events')
      .set(auth(writer))
      .send({ type: 'audit.exported', data: { format: 'csv', filters: {} } });
    expect(res.status).toBe(400);
  });
});

describe('tamper evidence and append-only storage', () => {
  it('verifies the generated range', async () => {
    const res = await h.http.get('/v1/audit-logs/verify').set(auth(auditorA.accessToken)).query({ fromId: generated[0]!.id, toId: generated[COUNT - 1]!.id });
    // Other test files may append in between the generator's chunks: count what the range holds.
    const [{ n }] = await h.deps.db.query<{ n: number }>('SELECT count(*)::int AS n FROM audit_logs WHERE id BETWEEN :a AND :b', {
      type: QueryTypes.SELECT,
      replacements: { a: generated[0]!.id, b: generated[COUNT - 1]!.id },
    });
    expect(n).toBeGreaterThanOrEqual(COUNT);
    expect(res.body).toEqual({ ok: true, checked: n });
  });

  it("refuses UPDATE, DELETE, TRUNCATE and unlocked INSERT from the application's connection", async () => {
    const id = generated[10]!.id;
    await expect(h.deps.db.query("UPDATE audit_logs SET details = '{}' WHERE id = :id", { replacements: { id } })).rejects.toThrow(/append-only/);
    await expect(h.deps.db.query('DELETE FROM audit_logs WHERE id = :id', { replacements: { id } })).rejects.toThrow(/append-only/);
    await expect(h.deps.db.query('TRUNCATE audit_logs')).rejects.toThrow(/append-only/);
    await expect(h.deps.db.query('DELETE FROM audit_event_ids')).rejects.toThrow(/append-only/);
    await expect(
      h.deps.db.query("INSERT INTO audit_logs (type, severity, occurred_at, actor_type, hash) VALUES ('x', 'info', now(), 'system', '\\x00')"),
    ).rejects.toThrow(/chain lock/);
    const [{ n }] = await h.deps.db.query<{ n: number }>('SELECT count(*)::int AS n FROM audit_logs WHERE id = :id', { type: QueryTypes.SELECT, replacements: { id } });
    expect(n).toBe(1);
  });

  it('keeps no secret in any audit record', async () => {
    const rows = await h.deps.db.query<{ text: string }>(
      `SELECT concat_ws(' ', type, actor_id, ip, user_agent, request_id, details::text) AS text FROM audit_logs`,
      { type: QueryTypes.SELECT },
    );
    const secrets = [PASSWORD, reader, auditorA.accessToken, auditorA.jar.get('__Host-lk_rt') ?? 'no-cookie-value'];
    for (const { text } of rows) {
      for (const s of secrets) expect(text.includes(s)).toBe(false);
      expect(text).not.toMatch(/lk_svc_[A-Za-z0-9_-]{20}|eyJ[A-Za-z0-9_-]{10,}\.eyJ|"(password|refreshToken|accessToken|token)"\s*:/i);
    }
  });
});
