import argon2 from 'argon2';
import { Client } from 'pg';
import { QueryTypes } from 'sequelize';
import { buildEvent } from '../../../shared/src/events/outbox';
import type { EventType } from '../../../shared/src/events/schemas';
import { passwordNeedsRehash, verifyPassword } from '../../../shared/src/security/passwords';
import { LoginService } from '../../../services/api/src/modules/auth/login.service';
import { processJob } from '../../../workers/src/process-event';
import { CookieJar, csrfFor, signIn } from '../../support/browser-session';
import { PASSWORD, startHarness, type Harness } from '../../support/harness';
import { addMember, createOrganization, handlerContext, serviceCredential } from '../organizations/fixtures';
import { jobOf, probe, waitFor } from '../workers/worker-harness';

let h: Harness;
let login: LoginService;
beforeAll(async () => {
  h = await startHarness();
  login = new LoginService(h.deps);
});
afterAll(() => h.close());

const ctx = { requestId: 'login-races', ip: '198.51.100.7', userAgent: 'jest' };
const NEW_PASSWORD = 'an entirely different passphrase';

/** A security event from a product backend, applied as the worker applies it (pipelined transaction, write-through). */
async function applyUserEvent(type: Extract<EventType, 'user.suspended' | 'user.security_reset'>, userId: string): Promise<void> {
  const event = buildEvent({ type, source: 'service:test', actor: { type: 'service', id: 'test' }, data: { userId } });
  expect(await processJob(jobOf(event), handlerContext(h))).toBe('applied');
}

async function liveSessions(userId: string): Promise<string[]> {
  const rows = await h.deps.db.query<{ id: string }>('SELECT id FROM sessions WHERE user_id = :userId AND revoked_at IS NULL', {
    type: QueryTypes.SELECT,
    replacements: { userId },
  });
  return rows.map((r) => r.id).sort();
}

/** A connection of the test's own, to hold locks the way a concurrent transaction would. */
async function connect(): Promise<{ client: Client; pid: number }> {
  const client = new Client({ connectionString: h.config.databaseUrl });
  await client.connect();
  const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  return { client, pid: rows[0]!.pid };
}

/** The backend that waits for a lock `blockerPid` holds (pg_blocking_pids: no guessing from timing). */
function blockedBy(blockerPid: number, what: string): Promise<number> {
  return waitFor(async () => {
    const [row] = await h.deps.db.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE :blocker = ANY (pg_blocking_pids(pid))', {
      type: QueryTypes.SELECT,
      replacements: { blocker: blockerPid },
    });
    return row?.pid;
  }, what);
}

describe('a revocation committed between the password check and the session insert (G6)', () => {
  const cases: Array<{ change: string; apply: (s: Awaited<ReturnType<typeof signIn>>) => Promise<void>; code: string; status: number }> = [
    {
      change: 'logout-all',
      apply: async (s) => expect((await h.http.post('/auth/logout-all').set('Authorization', `Bearer ${s.accessToken}`)).status).toBe(204),
      code: 'invalid_credentials',
      status: 401,
    },
    {
      change: 'a password change',
      apply: async (s) => {
        const res = await h.http
          .post('/auth/password/change')
          .set('Authorization', `Bearer ${s.accessToken}`)
          .send({ currentPassword: PASSWORD, newPassword: NEW_PASSWORD });
        expect(res.status).toBe(200);
      },
      code: 'invalid_credentials',
      status: 401,
    },
    { change: 'a suspension', apply: (s) => applyUserEvent('user.suspended', s.userId), code: 'user_suspended', status: 401 },
    { change: 'a security reset', apply: (s) => applyUserEvent('user.security_reset', s.userId), code: 'forbidden', status: 403 },
  ];

  it.each(cases)('after $change, opens no session and answers $code', async ({ apply, code, status }) => {
    const other = await signIn(h);
    const user = await login.checkCredentials({ email: other.email, password: PASSWORD }, ctx);
    await apply(other);
    const before = await liveSessions(other.userId);
    await expect(login.openSession(user, {}, ctx)).rejects.toMatchObject({ code, status });
    expect(await liveSessions(other.userId)).toEqual(before);
    const opened = await h.deps.db.query("SELECT 1 FROM events WHERE type = 'auth.login_succeeded' AND data->>'userId' = :u", {
      type: QueryTypes.SELECT,
      replacements: { u: other.userId },
    });
    expect(opened).toHaveLength(1); // `other`'s own sign-in only
  });

  it('opens the session when nothing changed (the version the caller read is still current)', async () => {
    const s = await signIn(h);
    const user = await login.checkCredentials({ email: s.email, password: PASSWORD }, ctx);
    const signedIn = await login.openSession(user, {}, ctx);
    expect(await liveSessions(s.userId)).toEqual([s.sessionId, signedIn.session.id].sort());
  });
});

describe('a sign-in that locked the user first, then a revocation (G6)', () => {
  // The sign-in holds a lock on the user row and is kept from committing by a membership row the
  // test holds (the session's foreign key to it is checked at the end of the statement); the
  // revocation starts meanwhile and waits for the user row. Then the sign-in commits first.
  const revocations: Array<{ by: string; revoke: (s: Awaited<ReturnType<typeof signIn>>) => Promise<unknown> }> = [
    { by: 'logout-all (API)', revoke: (s) => h.http.post('/auth/logout-all').set('Authorization', `Bearer ${s.accessToken}`).then((r) => expect(r.status).toBe(204)) },
    { by: 'user.security_reset (worker)', revoke: (s) => applyUserEvent('user.security_reset', s.userId) },
  ];

  it.each(revocations)('$by revokes the session the sign-in committed while it waited', async ({ revoke }) => {
    const admin = await serviceCredential(['organizations:write']);
    const org = await createOrganization(h, admin);
    const s = await signIn(h);
    const membershipId = await addMember(h, admin, org, s.userId, 'member');
    const { client, pid } = await connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT 1 FROM memberships WHERE id = $1 FOR UPDATE', [membershipId]);
      const signingIn = h.http.post('/auth/login').send({ email: s.email, password: PASSWORD, organizationId: org }).then((r) => r);
      const loginPid = await blockedBy(pid, 'the sign-in to wait for the membership row');
      const revoking = revoke(s);
      await blockedBy(loginPid, 'the revocation to wait for the sign-in');
      await client.query('COMMIT');
      const signedIn = await signingIn;
      await revoking;
      expect(signedIn.status).toBe(200);
      expect(await liveSessions(s.userId)).toEqual([]);
      const jar = new CookieJar();
      jar.store(signedIn.headers['set-cookie']);
      const csrf = await csrfFor(h, jar);
      expect((await h.http.post('/auth/refresh').set('Cookie', jar.header()).set('X-CSRF-Token', csrf)).body.code).toBe('session_revoked');
      expect((await probe(h, signedIn.body.accessToken)).status).toBe(401);
    } finally {
      await client.end();
    }
  });
});

describe('the rehash on sign-in racing a password change', () => {
  it('never writes the old password back over the new one', async () => {
    const s = await signIn(h);
    // An older, weaker hash of the same password: the next sign-in upgrades it.
    const weak = await argon2.hash(PASSWORD, { type: argon2.argon2id, memoryCost: 8_192, timeCost: 1, parallelism: 1 });
    expect(passwordNeedsRehash(weak)).toBe(true);
    await h.deps.db.query('UPDATE users SET password_hash = :weak WHERE id = :id', { replacements: { weak, id: s.userId } });
    const changed = await argon2.hash(NEW_PASSWORD, { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 });
    const { client, pid } = await connect();
    try {
      // A password change in flight: the new hash written, not yet committed (the sign-in reads the old one).
      await client.query('BEGIN');
      await client.query('UPDATE users SET password_hash = $2, token_version = token_version + 1 WHERE id = $1', [s.userId, changed]);
      const signingIn = h.http.post('/auth/login').send({ email: s.email, password: PASSWORD }).then((r) => r);
      await blockedBy(pid, 'the rehash to wait for the password change');
      await client.query('COMMIT');
      const res = await signingIn;
      expect(res.body.code).toBe('invalid_credentials');
    } finally {
      await client.end();
    }
    const [row] = await h.deps.db.query<{ password_hash: string }>('SELECT password_hash FROM users WHERE id = :id', {
      type: QueryTypes.SELECT,
      replacements: { id: s.userId },
    });
    expect(row!.password_hash).toBe(changed);
    expect(await verifyPassword(row!.password_hash, PASSWORD)).toBe(false);
  });
});
