import { randomUUID } from 'node:crypto';
import { QueryTypes, type Sequelize } from 'sequelize';
import { hashPassword } from '../../shared/src/security/passwords';
import { createServiceClient, type ServiceScope } from '../../shared/src/security/service-credentials';

/** The one password every bench user has (long, not common: the register rules would accept it). */
export const BENCH_PASSWORD = 'benchmark password 1234';

/** A user created for a benchmark. */
export interface BenchUser {
  id: string;
  email: string;
}

/** A signed-in session as a browser would hold it. */
export interface BenchSession {
  accessToken: string;
  /** `__Host-lk_rt=<token>`: the refresh cookie pair. */
  refreshCookie: string;
  sessionId: string;
}

let passwordHash: Promise<string> | undefined;

/**
 * Inserts `n` active users sharing one argon2id hash of BENCH_PASSWORD (computed once with the
 * product's parameters, so sign-in does a real verify). Hashing once per user would spend minutes
 * of a 2-core machine on set-up only.
 */
export async function createBenchUsers(db: Sequelize, n: number, tag = 'bench'): Promise<BenchUser[]> {
  passwordHash ??= hashPassword(BENCH_PASSWORD);
  const hash = await passwordHash;
  const run = `${tag}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 7)}`;
  const users: BenchUser[] = [];
  for (let start = 0; start < n; start += 500) {
    const batch = Array.from({ length: Math.min(500, n - start) }, (_, i) => ({ id: randomUUID(), email: `${run}-${start + i}@example.test` }));
    await db.query(
      `INSERT INTO users (id, email, email_normalized, password_hash, email_verified_at)
       SELECT id, email, email, :hash, now() FROM json_to_recordset(:rows) AS r(id uuid, email text)`,
      { replacements: { hash, rows: JSON.stringify(batch) } },
    );
    users.push(...batch);
  }
  return users;
}

/** A service credential with the scopes a benchmark needs (the secret stays in this process). */
export async function benchServiceCredential(scopes: ServiceScope[]): Promise<string> {
  const { credential } = await createServiceClient(`bench-${randomUUID()}`, scopes);
  return credential;
}

/** POST /v1/organizations then one POST .../members per user, through the real API. */
export async function createOrganizationWithMembers(apiUrl: string, credential: string, users: BenchUser[], role = 'member'): Promise<string> {
  const headers = { authorization: `Bearer ${credential}`, 'content-type': 'application/json' };
  const org = await fetch(`${apiUrl}/v1/organizations`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ name: `Bench ${randomUUID().slice(0, 8)}` }),
  });
  if (org.status !== 201) throw new Error(`create organization: ${org.status} ${await org.text()}`);
  const { id } = (await org.json()) as { id: string };
  await inParallel(users, 8, async (user) => {
    const res = await fetch(`${apiUrl}/v1/organizations/${id}/members`, { method: 'POST', headers, body: JSON.stringify({ userId: user.id, role }) });
    if (res.status !== 201) throw new Error(`add member: ${res.status} ${await res.text()}`);
  });
  return id;
}

/** POST /auth/login through the real API; the refresh cookie is kept as a browser would. */
export async function login(apiUrl: string, email: string, organizationId?: string): Promise<BenchSession> {
  const res = await fetch(`${apiUrl}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: BENCH_PASSWORD, ...(organizationId ? { organizationId } : {}) }),
  });
  if (res.status !== 200) throw new Error(`login: ${res.status} ${await res.text()}`);
  const body = (await res.json()) as { accessToken: string; session: { id: string } };
  return { accessToken: body.accessToken, sessionId: body.session.id, refreshCookie: cookiePair(res, '__Host-lk_rt') };
}

/** The `name=value` pair of a Set-Cookie header of `res`. */
export function cookiePair(res: Response, name: string): string {
  const pair = res.headers
    .getSetCookie()
    .map((c) => c.split(';')[0]!)
    .find((c) => c.startsWith(`${name}=`) && c.length > name.length + 1);
  if (!pair) throw new Error(`no ${name} cookie in the response`);
  return pair;
}

/** A CSRF token and its secret cookie (GET /auth/csrf), as a browser tab would hold them. */
export async function csrfPair(apiUrl: string): Promise<{ token: string; cookie: string }> {
  const res = await fetch(`${apiUrl}/auth/csrf`);
  const { csrfToken } = (await res.json()) as { csrfToken: string };
  return { token: csrfToken, cookie: cookiePair(res, '__Host-lk_csrf') };
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function inParallel<T, R>(items: T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!, i);
      }
    }),
  );
  return out;
}

/** Counts rows for a list of ids in chunks (Postgres handles big arrays, but keep queries small). */
export async function countWhereIdIn(db: Sequelize, sql: string, ids: string[]): Promise<number> {
  let total = 0;
  for (let i = 0; i < ids.length; i += 5_000) {
    const [row] = await db.query<{ n: string }>(sql, { type: QueryTypes.SELECT, replacements: { ids: ids.slice(i, i + 5_000) } });
    total += Number(row?.n ?? 0);
  }
  return total;
}
