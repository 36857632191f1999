import { QueryTypes } from 'sequelize';
import { unlinkMatching } from '../../../shared/src/redis/nodes';
import { codec } from '../../../shared/src/verify/auth-state';
import { signIn, type BrowserSession } from '../../support/browser-session';
import { PASSWORD, startHarness, type Harness } from '../../support/harness';
import { mailsTo, waitFor } from '../workers/worker-harness';

/**
 * G1 when a write-through fails after the revocation committed. API-1 (`one`) has lost its state
 * cache's Redis connection (its queue connection still works): the revocation commits, the
 * write-through throws and the caller gets 503. API-2 (`two`) still holds the session as live in
 * Redis. The caller retries on API-2: the session is revoked in Postgres already, and the 204 may
 * only come once Redis says so too. And API-1 queues its event at once, the failed write-through
 * notwithstanding, instead of leaving it to the outbox relay's delay.
 */
let one: Harness;
let two: Harness;
beforeAll(async () => {
  [one, two] = await Promise.all([startHarness(), startHarness()]);
  one.deps.redis.disconnect();
});
afterAll(async () => {
  await one.deps.producer.queue.obliterate({ force: true }).catch(() => undefined);
  await unlinkMatching(two.deps.redis, `${one.prefix}:*`).catch(() => undefined);
  await Promise.all([one.close(), two.close()]);
});

const me = (h: Harness, token: string) => h.http.get('/me').set('Authorization', `Bearer ${token}`);
const claims = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { tv: number };

/** What another API instance's read-through may have left in Redis: the user at the token's version, the session live. */
async function holdLive(s: BrowserSession) {
  const { redis, keys } = two.deps;
  await redis.set(keys.user(s.userId), codec.user.encode({ tokenVersion: claims(s.accessToken).tv, status: 'active' }), 'EX', 600);
  const live = codec.session.encode({ version: 0, revoked: false, expiresAt: Math.floor(Date.now() / 1000) + 3600 });
  await redis.set(keys.session(s.userId, s.sessionId), live, 'EX', 600);
}

/** The event API-1 committed for this change, which must reach its queue without the relay. */
async function expectQueued(type: string, s: BrowserSession) {
  const [row] = await one.deps.db.query<{ id: string }>(
    "SELECT id FROM events WHERE type = :type AND source = 'api' AND (data->>'userId' = :userId OR data->>'sessionId' = :sessionId)",
    { type: QueryTypes.SELECT, replacements: { type, userId: s.userId, sessionId: s.sessionId } },
  );
  expect(row).toBeDefined();
  const queued = () => one.deps.producer.queue.getJob(row!.id);
  for (const deadline = Date.now() + 3_000; !(await queued()) && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 50));
  expect(await queued()).toBeDefined();
}

async function revokedInPostgres(sessionId: string): Promise<boolean> {
  const [row] = await one.deps.db.query<{ revoked: boolean }>('SELECT revoked_at IS NOT NULL AS revoked FROM sessions WHERE id = :id', {
    type: QueryTypes.SELECT,
    replacements: { id: sessionId },
  });
  return row!.revoked;
}

/** A revoking request by `actor` (a session of the target's user) that revokes `target`'s session. */
type Call = (h: Harness, actor: BrowserSession, target: BrowserSession) => Promise<{ status: number; body: { code?: string } }>;
const cases: Array<{ name: string; event: string; call: Call; fromOtherSession?: boolean }> = [
  { name: 'logout with a Bearer token', event: 'auth.logout', call: (h, s) => h.http.post('/auth/logout').set('Authorization', `Bearer ${s.accessToken}`) },
  { name: 'logout with the refresh cookie', event: 'auth.logout', call: (h, s) => h.http.post('/auth/logout').set('Cookie', s.jar.header()).set('X-CSRF-Token', s.csrf) },
  {
    name: 'DELETE /sessions/:id',
    event: 'session.revoked',
    fromOtherSession: true,
    call: (h, other, target) => h.http.delete(`/sessions/${target.sessionId}`).set('Authorization', `Bearer ${other.accessToken}`),
  },
  { name: 'logout-all', event: 'user.logged_out_all', call: (h, s) => h.http.post('/auth/logout-all').set('Authorization', `Bearer ${s.accessToken}`) },
];

describe.each(cases)('$name retried after its write-through failed (G1)', ({ event, call, fromOtherSession }) => {
  it('answers 503 and queues its event at once; the retry makes Redis refuse the token before its 204', async () => {
    const target = await signIn(two);
    const actor = fromOtherSession ? await signIn(two, { email: target.email }) : target;

    const first = await call(one, actor, target);
    expect(first.status).toBe(503);
    expect(first.body.code).toBe('service_unavailable');
    expect(await revokedInPostgres(target.sessionId)).toBe(true);
    await expectQueued(event, target);

    await holdLive(target);
    expect((await me(two, target.accessToken)).status).toBe(200);

    expect((await call(two, actor, target)).status).toBe(204);
    const after = await me(two, target.accessToken);
    expect(after.status).toBe(401);
    expect(['session_revoked', 'token_version_stale']).toContain(after.body.code);
  });
});

describe('a password change or reset answered 503 after its commit', () => {
  const NEW_PASSWORD = 'an entirely different passphrase';
  const notices = async (email: string) => (await mailsTo(one, email)).filter((m) => m.kind === 'password_changed');

  it('change: queues its event at once and tells the owner all the same', async () => {
    const s = await signIn(two);
    const res = await one.http
      .post('/auth/password/change')
      .set('Authorization', `Bearer ${s.accessToken}`)
      .send({ currentPassword: PASSWORD, newPassword: NEW_PASSWORD });
    expect(res.status).toBe(503);
    await expectQueued('user.password_changed', s);
    expect(await notices(s.email)).toHaveLength(1);
  });

  it('reset: queues its event at once and tells the owner all the same', async () => {
    const s = await signIn(two);
    expect((await two.http.post('/auth/password/forgot').send({ email: s.email })).status).toBe(202);
    const mail = await waitFor(async () => (await mailsTo(two, s.email)).find((m) => m.kind === 'password_reset'), 'reset mail');
    const token = new URL(mail.link!).searchParams.get('token')!;
    const res = await one.http.post('/auth/password/reset').send({ token, newPassword: NEW_PASSWORD });
    expect(res.status).toBe(503);
    await expectQueued('user.password_changed', s);
    expect(await notices(s.email)).toHaveLength(1);
  });
});
