import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { Client } from 'pg';
import { QueryTypes } from 'sequelize';
import { ensureDatabase } from '../../../services/launcher/src/infra';
import { loadConfig } from '../../../shared/src/config/load-config';
import { createDatabase } from '../../../shared/src/db/connection';
import { migrateToLatest } from '../../../shared/src/db/migrator';
import { ERROR_CODES } from '../../../shared/src/errors/codes';
import { createServiceClient, SERVICE_SCOPES } from '../../../shared/src/security/service-credentials';
import { signIn } from '../../support/browser-session';
import { startHarness, type Harness } from '../../support/harness';
import { TEST_ENV } from '../../support/test-env';

/**
 * R8: 10,000 generated malformed requests (bodies, headers, cookies, tokens, path and query
 * parameters) across every route: no 5xx, every error a problem+json whose code is one of the
 * contract's with its status, and not one row written anywhere. The harness runs on a database of
 * this file's own, so the row counts are exact whatever the other test files do meanwhile.
 */
const RUNS = Number(process.env.R8_RUNS ?? 10_000);
const LANES = 4;

const databaseUrl = `${TEST_ENV.DATABASE_URL}_r8`;
let h: Harness;
let server: Server;
let base: string;
let validToken = '';
let credential: string;

beforeAll(async () => {
  await ensureDatabase(databaseUrl, { recreate: true });
  const db = createDatabase(loadConfig({ DATABASE_URL: databaseUrl }), 2);
  await migrateToLatest(db).finally(() => db.close());
  h = await startHarness({ DATABASE_URL: databaseUrl });
  server = createServer(h.app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  validToken = (await signIn(h)).accessToken;
  credential = (await createServiceClient(`r8-${Date.now()}`, [...SERVICE_SCOPES])).credential;
}, 60_000);
afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await h?.close();
  await dropDatabase(databaseUrl).catch(() => undefined);
});

async function dropDatabase(url: string): Promise<void> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.slice(1));
  if (!/^[a-z0-9_]+_r8$/.test(name)) return;
  target.pathname = '/postgres';
  const client = new Client({ connectionString: target.toString() });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

/** Row counts of every table: the "nothing written" check. */
async function rowCounts(): Promise<Record<string, number>> {
  const tables = await h.deps.db.query<{ t: string }>(
    "SELECT quote_ident(table_name) AS t FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1",
    { type: QueryTypes.SELECT },
  );
  const out: Record<string, number> = {};
  for (const { t } of tables) {
    const [row] = await h.deps.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${t}`, { type: QueryTypes.SELECT });
    out[t] = row!.n;
  }
  return out;
}

type Auth = 'none' | 'garbage' | 'user' | 'service';
/** Every route; `auth` lists what may authenticate it in a generated request (never a valid one where a bodiless call would write). */
const ROUTES: Array<{ method: string; path: string; auth: Auth[]; badQuery?: Record<string, string> }> = [
  { method: 'GET', path: '/auth/csrf', auth: ['none'] },
  { method: 'POST', path: '/auth/register', auth: ['none', 'garbage'] },
  { method: 'POST', path: '/auth/login', auth: ['none', 'garbage'] },
  { method: 'POST', path: '/auth/refresh', auth: ['none', 'garbage'] },
  { method: 'POST', path: '/auth/logout', auth: ['none', 'garbage'] },
  { method: 'POST', path: '/auth/logout-all', auth: ['none', 'garbage'] },
  { method: 'POST', path: '/auth/switch-organization', auth: ['garbage', 'user'] },
  { method: 'POST', path: '/auth/password/change', auth: ['garbage', 'user'] },
  { method: 'POST', path: '/auth/password/forgot', auth: ['none'] },
  { method: 'POST', path: '/auth/password/reset', auth: ['none'] },
  { method: 'POST', path: '/auth/email/verify', auth: ['none'] },
  { method: 'POST', path: '/auth/mfa/verify', auth: ['none'] },
  { method: 'POST', path: '/auth/mfa/totp/enroll', auth: ['garbage', 'user'] },
  { method: 'POST', path: '/auth/mfa/totp/confirm', auth: ['garbage', 'user'] },
  { method: 'POST', path: '/auth/mfa/totp/disable', auth: ['garbage', 'user'] },
  { method: 'GET', path: '/me', auth: ['none', 'garbage', 'user'] },
  { method: 'GET', path: '/sessions', auth: ['none', 'garbage', 'user'] },
  { method: 'DELETE', path: '/sessions/:p', auth: ['garbage', 'user'] },
  { method: 'GET', path: '/.well-known/jwks.json', auth: ['none'] },
  { method: 'POST', path: '/v1/events', auth: ['garbage', 'service'] },
  { method: 'GET', path: '/v1/events/:p', auth: ['garbage', 'service'] },
  { method: 'POST', path: '/v1/introspect', auth: ['garbage', 'service'] },
  { method: 'POST', path: '/v1/organizations', auth: ['garbage', 'service'] },
  { method: 'POST', path: '/v1/organizations/:p/members', auth: ['garbage', 'service', 'user'] },
  { method: 'GET', path: '/v1/organizations/:p/members', auth: ['garbage', 'service', 'user'] },
  { method: 'PUT', path: '/v1/organizations/:p/roles/:p', auth: ['garbage', 'service', 'user'] },
  { method: 'GET', path: '/v1/audit-logs', auth: ['garbage', 'service', 'user'] },
  // A valid export is audited (a write by design): its generated queries always carry a bad format.
  { method: 'GET', path: '/v1/audit-logs/export', auth: ['garbage', 'service'], badQuery: { format: 'bogus' } },
  { method: 'GET', path: '/v1/audit-logs/verify', auth: ['garbage', 'service'] },
  { method: 'GET', path: '/v1/audit-logs/users/:p/sessions', auth: ['garbage', 'service'] },
  { method: 'GET', path: '/v1/audit-logs/:p', auth: ['garbage', 'service'] },
  { method: 'GET', path: '/console/memberships', auth: ['none', 'garbage', 'user'] },
  { method: 'GET', path: '/healthz', auth: ['none'] },
  { method: 'GET', path: '/openapi.json', auth: ['none'] },
  { method: 'GET', path: '/nowhere/:p', auth: ['none', 'garbage'] },
];

const printable = (max: number) => fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: max });
const b64 = (min: number, max: number) => fc.string({ unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_='), minLength: min, maxLength: max });

/** Tokens that must all be refused: garbage, JWT-shaped garbage, a damaged valid token, lookalike credentials. */
const garbageToken = fc.oneof(
  printable(60).map((s) => `Bearer ${s}`),
  fc.tuple(b64(0, 60), b64(0, 200), b64(0, 90)).map(([a, b, c]) => `Bearer ${a}.${b}.${c}`),
  fc.nat().map((i) => `Bearer ${validToken.slice(0, validToken.length - 1 - (i % 40))}`),
  fc.tuple(fc.nat(), fc.constantFrom('A', 'B', '_', '-', '=')).map(([i, c]) => {
    const at = i % validToken.length;
    // Never "replace" a character by itself: that would be the valid token again.
    const other = validToken[at] === c ? (c === 'A' ? 'B' : 'A') : c;
    return `Bearer ${validToken.slice(0, at)}${other}${validToken.slice(at + 1)}`;
  }),
  fc.constant('==').map((pad) => `Bearer ${validToken}${pad}`), // evaluated per run: the token exists by then
  b64(0, 60).map((s) => `Bearer lk_svc_${s}`),
  printable(40).map((s) => `Basic ${s}`),
  fc.constant(`Bearer ${'A'.repeat(20_000)}`),
  printable(80),
);

/**
 * Values a naive check lets through but Postgres cannot store or compare: a NUL character, a lone
 * surrogate, an instant in year 10000 or year 0 once in UTC, ids beyond a bigint.
 */
const unstorable = fc.constantFrom('a\u0000b', 'x\ud800', '9999-12-31T23:59:59-14:00', '0000-01-01T00:00:00Z', '9999999999999999999', '9223372036854775808');
const jsonNonObject = fc.oneof(fc.constant(null), fc.boolean(), fc.double(), fc.string({ maxLength: 40 }), fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 5 }));
const fieldNames = fc.constantFrom('email', 'password', 'name', 'organizationId', 'deviceName', 'token', 'newPassword', 'currentPassword', 'keepCurrentSession', 'code', 'challengeId', 'type', 'data', 'events', 'userId', 'role', 'permissions', 'slug', 'idempotencyKey', 'occurredAt');
/** An object body that no (strict) schema accepts: known fields with any values plus one unknown key. */
const badObject = fc
  .tuple(fc.dictionary(fieldNames, fc.jsonValue({ maxDepth: 3 }), { maxKeys: 6 }), fc.string({ minLength: 1, maxLength: 12 }), fc.jsonValue({ maxDepth: 1 }))
  .map(([fields, key, value]) => ({ ...fields, [`x_${key}`]: value }));
const wrongTypes = fc.dictionary(fieldNames, fc.oneof(fc.constant(null), fc.integer(), fc.boolean(), fc.array(fc.integer(), { maxLength: 3 }), fc.object({ maxDepth: 1 })), { minKeys: 1, maxKeys: 6 });
const body = fc.oneof(
  { arbitrary: jsonNonObject.map((v) => ({ raw: JSON.stringify(v), type: 'application/json' })), weight: 2 },
  { arbitrary: badObject.map((v) => ({ raw: JSON.stringify(v), type: 'application/json' })), weight: 3 },
  { arbitrary: wrongTypes.map((v) => ({ raw: JSON.stringify(v), type: 'application/json' })), weight: 2 },
  { arbitrary: fc.dictionary(fieldNames, unstorable, { minKeys: 1, maxKeys: 6 }).map((v) => ({ raw: JSON.stringify(v), type: 'application/json' })), weight: 1 },
  {
    // An otherwise well-formed event whose text or instant Postgres could not take.
    arbitrary: fc.tuple(unstorable, unstorable).map(([reason, occurredAt]) => ({
      raw: JSON.stringify({ type: 'user.suspended', data: { userId: '00000000-0000-4000-8000-000000000000', reason }, occurredAt }),
      type: 'application/json',
    })),
    weight: 1,
  },
  { arbitrary: printable(200).map((s) => ({ raw: `{${s}`, type: 'application/json' })), weight: 1 },
  { arbitrary: fc.tuple(printable(100), fc.constantFrom('text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml', 'application/json; charset=latin9')).map(([raw, type]) => ({ raw, type })), weight: 1 },
  { arbitrary: fc.nat({ max: 3 }).map((n) => ({ raw: JSON.stringify({ email: 'a'.repeat(20_000 + n * 100_000) }), type: 'application/json' })), weight: 1 },
  { arbitrary: fc.constant(undefined), weight: 1 },
);
const param = fc.oneof(printable(60).map(encodeURIComponent), fc.uuid(), fc.constantFrom('a%00b', '%ED%A0%80', '9999999999999999999', '9223372036854775808'), fc.constantFrom('..', '%00', '%ZZ', '1', '-1', '99999999999999999999', 'null', '%E0%A4%A'));
const query = fc.dictionary(fc.constantFrom('limit', 'cursor', 'from', 'to', 'type', 'severity', 'userId', 'organizationId', 'sessionId', 'format', 'fromId', 'toId', 'status', 'x'), fc.oneof(printable(40), unstorable), { maxKeys: 4 });
const extraHeaders = fc.record(
  {
    cookie: fc.oneof(printable(100), b64(0, 130).map((v) => `__Host-lk_rt=${v}`), b64(0, 80).map((v) => `__Host-lk_csrf=${v}; __Host-lk_rt=${v}`)),
    'x-csrf-token': printable(60),
    'x-request-id': printable(200),
    'x-forwarded-for': fc.oneof(printable(100), fc.constant('203.0.113.9')),
    origin: fc.oneof(fc.constant('https://evil.example'), fc.constant('null'), printable(40)),
    'sec-fetch-site': fc.constantFrom('cross-site', 'same-site', 'same-origin', 'none', 'bogus'),
    accept: printable(30),
  },
  { requiredKeys: [] },
);

const request = fc.record({ route: fc.constantFrom(...ROUTES), authPick: fc.nat(), token: garbageToken, body, params: fc.array(param, { minLength: 2, maxLength: 2 }), query, headers: extraHeaders });

/**
 * One request on a connection of its own (no keep-alive reuse: a server that answers early, e.g.
 * 413, closes its connection, and a reused socket would make a client-side race look like a fault).
 */
function rawRequest(path: string, method: string, headers: Record<string, string>, body?: string): Promise<{ status: number; contentType: string; text: string }> {
  return new Promise((resolve, reject) => {
    const sized = body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) };
    const req = httpRequest(`${base}${path}`, { method, headers: sized, agent: false, timeout: 15_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('close', () => setTimeout(() => reject(new Error('connection closed without an answer')), 1_000));
    req.on('error', (err: NodeJS.ErrnoException) => {
      // The server may answer (413, 431) and close before the whole body is written: that answer counts.
      if (err.code === 'EPIPE' || err.code === 'ECONNRESET') return;
      reject(err);
    });
    req.end(body);
  });
}

interface Tally {
  sent: number;
  status5xx: number;
  notProblem: number;
  unknownCode: number;
  byStatus: Record<number, number>;
}

type GeneratedRequest = typeof request extends fc.Arbitrary<infer T> ? T : never;

async function send(r: GeneratedRequest, tally: Tally): Promise<void> {
  const auth = r.route.auth[r.authPick % r.route.auth.length]!;
  let i = 0;
  const path = r.route.path.replace(/:p/g, () => r.params[i++]!);
  const qs = new URLSearchParams({ ...r.query, ...(r.route.badQuery ?? {}) }).toString();
  const headers: Record<string, string> = { ...r.headers };
  if (auth === 'garbage') headers.authorization = r.token;
  if (auth === 'user') headers.authorization = `Bearer ${validToken}`;
  if (auth === 'service') headers.authorization = `Bearer ${credential}`;
  const withBody = r.route.method !== 'GET' && r.body !== undefined;
  if (withBody) headers['content-type'] = r.body!.type;
  const res = await rawRequest(`${path}${qs ? `?${qs}` : ''}`, r.route.method, headers, withBody ? r.body!.raw : undefined).catch((err) => {
    throw new Error(`${String(err)}: ${r.route.method} ${path} ${JSON.stringify({ ...headers, authorization: headers.authorization?.slice(0, 40) }).slice(0, 600)}`);
  });
  const text = res.text;
  tally.sent++;
  tally.byStatus[res.status] = (tally.byStatus[res.status] ?? 0) + 1;
  const where = `${r.route.method} ${path} (${auth}) -> ${res.status} ${text.slice(0, 200)} ${JSON.stringify({ ...headers, authorization: headers.authorization?.slice(0, 40) }).slice(0, 400)} body=${withBody ? r.body!.raw.slice(0, 100) : '-'}`;
  if (res.status >= 500) {
    tally.status5xx++;
    throw new Error(`5xx: ${where}`);
  }
  // Node's HTTP parser answers 431 itself (no body) to headers over its limit: quality.md allows 401 or 431 there.
  if (res.status >= 400 && res.status !== 431) {
    let problem: { code?: string; status?: number } = {};
    try {
      problem = JSON.parse(text);
    } catch {
      /* counted below */
    }
    if (!/^application\/problem\+json/.test(res.contentType) || problem.status !== res.status) {
      tally.notProblem++;
      throw new Error(`not problem+json: ${where}`);
    }
    const known = problem.code !== undefined && (ERROR_CODES as Record<string, { status: number }>)[problem.code]?.status === res.status;
    if (!known) {
      tally.unknownCode++;
      throw new Error(`code not in the contract: ${where}`);
    }
  }
}

it('R8: 10,000 generated malformed requests across every route: 0 5xx, problem+json with contract codes, nothing written', async () => {
  // Sign-in side effects of the setup may still be committing: start from stable counts.
  let before = await rowCounts();
  for (let i = 0; i < 20; i++) {
    await new Promise((r) => setTimeout(r, 250));
    const again = await rowCounts();
    if (JSON.stringify(again) === JSON.stringify(before)) break;
    before = again;
  }
  const tally: Tally = { sent: 0, status5xx: 0, notProblem: 0, unknownCode: 0, byStatus: {} };
  await Promise.all(
    Array.from({ length: LANES }, (_, lane) =>
      fc.assert(
        fc.asyncProperty(request, (r) => send(r, tally)),
        { numRuns: RUNS / LANES, seed: Number(process.env.R8_SEED ?? Date.now()) + lane, endOnFailure: true },
      ),
    ),
  );
  const after = await rowCounts();
  console.log(
    `R8 sent=${tally.sent} status_5xx=${tally.status5xx} not_problem_json=${tally.notProblem} unknown_codes=${tally.unknownCode} ` +
      `rows_changed=${Object.keys(after).filter((t) => after[t] !== before[t]).join(',') || 'none'} by_status=${JSON.stringify(tally.byStatus)}`,
  );
  expect(tally.sent).toBe(RUNS);
  expect(after).toEqual(before);
}, 120_000);
