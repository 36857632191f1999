import { randomUUID } from 'node:crypto';
import { encodeCursor } from '../../../shared/src/audit/audit-query';
import { registerUser } from '../../support/browser-session';
import { PASSWORD, startHarness, type Harness } from '../../support/harness';
import { serviceCredential } from '../workers/worker-harness';

// Values Postgres cannot store or compare are refused at the door with 400 validation_failed:
// never a 500, and never a stored event the worker or the audit chain cannot write later.
let h: Harness;
let events: string;
let reader: string;
beforeAll(async () => {
  h = await startHarness();
  ({ credential: events } = await serviceCredential(['events:write']));
  ({ credential: reader } = await serviceCredential(['audit:read']));
});
afterAll(() => h.close());

const postEvent = (body: object) => h.http.post('/v1/events').set('Authorization', `Bearer ${events}`).send(body);
const readAudit = (path: string) => h.http.get(path).set('Authorization', `Bearer ${reader}`);

function expectRefused(res: { status: number; body: { code?: string } }): void {
  expect(res.status).toBe(400);
  expect(res.body.code).toBe('validation_failed');
}

describe('instants', () => {
  it('refuses an occurredAt outside the years 1 to 9999 in UTC, and stores others in UTC', async () => {
    const suspended = (occurredAt: string) => ({ type: 'user.suspended', data: { userId: randomUUID() }, occurredAt });
    // 9999-12-31 at -14:00 is year 10000 in UTC: toISOString writes +010000-…, which Postgres refuses.
    expectRefused(await postEvent(suspended('9999-12-31T23:59:59-14:00')));
    expectRefused(await postEvent(suspended('0000-01-01T00:00:00Z')));
    const ok = await postEvent(suspended('2026-06-01T12:00:00+02:00'));
    expect(ok.status).toBe(202);
    const [row] = await h.deps.db.query<{ occurred_at: Date }>('SELECT occurred_at FROM events WHERE id = :id', {
      type: 'SELECT' as never,
      replacements: { id: ok.body.eventIds[0] },
    });
    expect(row!.occurred_at.toISOString()).toBe('2026-06-01T10:00:00.000Z');
  });

  it('refuses audit filters Postgres cannot compare', async () => {
    expectRefused(await readAudit('/v1/audit-logs?from=0000-01-01T00:00:00Z'));
    expectRefused(await readAudit('/v1/audit-logs/export?to=9999-12-31T23:59:59-14:00'));
    expect((await readAudit('/v1/audit-logs?from=2026-01-01T00:00:00%2B01:00')).status).toBe(200);
  });
});

describe('bigint ids', () => {
  it('refuses record ids and cursors beyond 2^63 - 1', async () => {
    expectRefused(await readAudit('/v1/audit-logs/9999999999999999999'));
    expectRefused(await readAudit('/v1/audit-logs/verify?fromId=9999999999999999999'));
    expectRefused(await readAudit(`/v1/audit-logs?cursor=${encodeCursor('9999999999999999999')}`));
    expect((await readAudit('/v1/audit-logs/verify?fromId=9223372036854775807')).status).toBe(200);
  });
});

describe('text', () => {
  it('refuses NUL characters and lone surrogates in JSON bodies', async () => {
    for (const reason of ['a\u0000b', 'a\ud800b']) {
      expectRefused(await postEvent({ type: 'user.suspended', data: { userId: randomUUID(), reason } }));
    }
    const email = await registerUser(h);
    expectRefused(await h.http.post('/auth/login').send({ email, password: PASSWORD, deviceName: 'pc\u0000' }));
    // The escape itself, not only the raw character: JSON.stringify writes a lone surrogate as \ud800.
    expectRefused(await h.http.post('/auth/login').set('Content-Type', 'application/json').send(`{"email":"${email}","password":"${PASSWORD}","deviceName":"\\ud800"}`));
    expect((await h.http.post('/auth/login').send({ email, password: PASSWORD, deviceName: 'pc \ud83d\udd11' })).status).toBe(200);
  });

  it('refuses an encoded NUL in the path or the query', async () => {
    expectRefused(await readAudit('/v1/audit-logs?type=auth.%00'));
    expectRefused(await readAudit('/v1/audit-logs/%00'));
  });
});

describe('client address', () => {
  it('signs in behind a trusted proxy whose X-Forwarded-For is not an address, and keeps a real one', async () => {
    const email = await registerUser(h);
    const junk = await h.http.post('/auth/login').set('X-Forwarded-For', 'x'.repeat(100)).send({ email, password: PASSWORD });
    expect(junk.status).toBe(200);
    const real = await h.http.post('/auth/login').set('X-Forwarded-For', '203.0.113.7').send({ email, password: PASSWORD });
    const [row] = await h.deps.db.query<{ ip: string | null }>('SELECT ip FROM sessions WHERE id = :id', {
      type: 'SELECT' as never,
      replacements: { id: real.body.session.id },
    });
    expect(row!.ip).toBe('203.0.113.7');
  });
});
