import { FAULT_PASSWORD } from './support/fault-env';
import { Jar, REFRESH_COOKIE, bearer, call, login, me, refreshWith, type Reply, type Signed } from './support/http';
import { createUsers } from './support/fixtures';
import { FaultRig, type Api } from './support/rig';

/**
 * R7: real parallel requests against two API processes. 50 refreshes of one token yield one
 * successor and revoke nothing; 20 parallel logins give 20 working sessions; a revocation racing
 * a refresh never leaves the session (or anything the refresh returned) usable.
 */
let rig: FaultRig;
let apis: Api[];

beforeAll(async () => {
  rig = await FaultRig.start('r7');
  apis = await Promise.all([rig.api(), rig.api()]);
});
afterAll(async () => {
  await rig?.close();
});

const cookieOf = (r: Reply) => {
  const jar = new Jar();
  jar.store(r.setCookies);
  return jar.cookies.get(REFRESH_COOKIE);
};

it('R7: 50 parallel refreshes, 20 parallel logins, revocations racing refreshes', async () => {
  const [a, b] = apis as [Api, Api];
  const users = await createUsers(rig.db, 42, 'r7');

  // 50 parallel refreshes of one token, across both APIs.
  const s = await login(a.url, users[0]!.email, FAULT_PASSWORD);
  const replies = await Promise.all(Array.from({ length: 50 }, (_, i) => refreshWith(i % 2 ? a.url : b.url, s)));
  const ok = replies.filter((r) => r.status === 200);
  const successors = new Set(ok.map(cookieOf));
  const family = await rig.db.query('SELECT count(*)::int AS n FROM refresh_tokens WHERE session_id = $1', [s.sessionId]);
  const sessionRow = await rig.db.query('SELECT revoked_at FROM sessions WHERE id = $1', [s.sessionId]);
  const next: Signed = { ...s, jar: new Jar() };
  next.jar.cookies.set(REFRESH_COOKIE, [...successors][0]!);
  for (const [k, v] of s.jar.cookies) if (k !== REFRESH_COOKIE) next.jar.cookies.set(k, v);
  const successorWorks = (await refreshWith(b.url, next)).status;

  // 20 parallel logins of one user.
  const logins = await Promise.all(
    Array.from({ length: 20 }, (_, i) => call(i % 2 ? a.url : b.url, 'POST', '/auth/login', { body: { email: users[1]!.email, password: FAULT_PASSWORD } })),
  );
  const loginSessions = new Set(logins.filter((r) => r.status === 200).map((r) => r.body.session.id));
  const loginTokensOk = (await Promise.all(logins.filter((r) => r.status === 200).map((r) => me(a.url, r.body.accessToken)))).filter((r) => r.status === 200).length;

  // Revocation racing a refresh, 40 times (logout and logout-all, on opposite APIs).
  let survivors = 0;
  const races = 40;
  await Promise.all(
    users.slice(2, 2 + races).map(async (u, i) => {
      const victim = await login(a.url, u.email, FAULT_PASSWORD);
      const [revoke, refreshed] = await Promise.all([
        call(i % 2 ? a.url : b.url, 'POST', i % 4 < 2 ? '/auth/logout' : '/auth/logout-all', { headers: bearer(victim.accessToken) }),
        refreshWith(i % 2 ? b.url : a.url, victim),
      ]);
      if (revoke.status !== 204) throw new Error(`revocation answered ${revoke.status} ${revoke.text}`);
      const row = await rig.db.query('SELECT revoked_at FROM sessions WHERE id = $1', [victim.sessionId]);
      if (row.rows[0].revoked_at === null) survivors++;
      if ((await me(b.url, victim.accessToken)).status === 200) survivors++;
      if (refreshed.status === 200) {
        if ((await me(a.url, refreshed.body.accessToken)).status === 200) survivors++;
        if ((await me(b.url, refreshed.body.accessToken)).status === 200) survivors++;
        const after: Signed = { ...victim, jar: new Jar() };
        after.jar.cookies.set(REFRESH_COOKIE, cookieOf(refreshed)!);
        for (const [k, v] of victim.jar.cookies) if (k !== REFRESH_COOKIE) after.jar.cookies.set(k, v);
        if ((await refreshWith(b.url, after)).status === 200) survivors++;
      }
      if ((await refreshWith(a.url, victim)).status === 200) survivors++;
    }),
  );

  console.log(
    `R7 refreshes=50 answered_200=${ok.length} successors=${successors.size} family_rows=${family.rows[0].n} family_revoked=${sessionRow.rows[0].revoked_at !== null} ` +
      `successor_refresh=${successorWorks} logins=20 login_200=${logins.filter((r) => r.status === 200).length} sessions=${loginSessions.size} ` +
      `login_tokens_ok=${loginTokensOk} revocation_races=${races} survivors=${survivors}`,
  );
  expect(replies.map((r) => r.status).filter((st) => st !== 200)).toEqual([]);
  expect(successors.size).toBe(1);
  expect(family.rows[0].n).toBe(2);
  expect(sessionRow.rows[0].revoked_at).toBeNull();
  expect(successorWorks).toBe(200);
  expect(loginSessions.size).toBe(20);
  expect(loginTokensOk).toBe(20);
  expect(survivors).toBe(0);
});
