import { QueryTypes } from 'sequelize';
import { buildEvent } from '../../../shared/src/events/outbox';
import { parseEvent, type EventType, type SecurityEvent } from '../../../shared/src/events/schemas';
import { createLogger } from '../../../shared/src/logging/logger';
import { createHandlerContext } from '../../../workers/src/context';
import { eventOfRow } from '../../../workers/src/outbox-relay';
import { processJob } from '../../../workers/src/process-event';
import { refresh, signIn, type BrowserSession } from '../../support/browser-session';
import { PASSWORD, startHarness, type Harness } from '../../support/harness';
import { createOwnDatabase } from '../../support/own-database';
import { auditRecords, jobOf, mailsTo, postEvents, probe, serviceCredential, waitFor } from './worker-harness';

/**
 * A worker that is behind (a backlog, a restart, an outage) applies user-wide events after the user
 * has signed in again. Here no worker runs until the test hands it the event: the sign-in after the
 * event is certain to come first. A database of its own, so that no other test file's relay picks
 * the pending events up.
 */
let own: Awaited<ReturnType<typeof createOwnDatabase>>;
let h: Harness;
let ctx: ReturnType<typeof createHandlerContext>;
let credential: string;
beforeAll(async () => {
  own = await createOwnDatabase('late_worker');
  h = await startHarness({ DATABASE_URL: own.url });
  ctx = createHandlerContext(h.config, createLogger({ level: 'silent', service: 'test-worker' }));
  ({ credential } = await serviceCredential(['events:write']));
});
afterAll(async () => {
  await ctx.close();
  await h.close();
  await own.drop().catch(() => undefined);
});

const NEW_PASSWORD = 'an entirely different passphrase';

/** The newest stored event of that type about the user, as the relay would enqueue it. */
async function storedEvent(type: EventType, userId: string): Promise<SecurityEvent> {
  const [row] = await h.deps.db.query(`SELECT * FROM events WHERE type = :type AND data->>'userId' = :userId ORDER BY created_at DESC LIMIT 1`, {
    type: QueryTypes.SELECT,
    replacements: { type, userId },
  });
  return parseEvent(eventOfRow(row as never));
}

/** The worker, at last, applies the event. */
async function applyLate(event: SecurityEvent): Promise<void> {
  expect(await processJob(jobOf(event), ctx)).toBe('applied');
}

/** Postgres's word on a session (Redis may still hold an older answer). */
async function revokeReason(sessionId: string): Promise<string | null | undefined> {
  const [row] = await h.deps.db.query<{ revoke_reason: string | null }>('SELECT revoke_reason FROM sessions WHERE id = :sessionId', {
    type: QueryTypes.SELECT,
    replacements: { sessionId },
  });
  return row?.revoke_reason;
}

async function expectLive(s: BrowserSession): Promise<void> {
  expect((await refresh(h, s)).status).toBe(200);
  expect((await probe(h, s.accessToken)).status).toBe(200);
}

async function expectRevoked(s: BrowserSession): Promise<void> {
  expect(await probe(h, s.accessToken)).toEqual({ status: 401, code: 'session_revoked' });
  expect((await refresh(h, s)).body.code).toBe('session_revoked');
}

describe('a late worker revokes the sessions its event was about, not the sign-ins after it', () => {
  it('logout-all from the API: a sign-in after the answer survives the late event', async () => {
    const before = await signIn(h);
    await h.http.post('/auth/logout-all').set('Authorization', `Bearer ${before.accessToken}`).expect(204);
    const after = await signIn(h, { email: before.email });

    await applyLate(await storedEvent('user.logged_out_all', before.userId));
    expect(await revokeReason(after.sessionId)).toBeNull();
    await expectLive(after);
    await expectRevoked(before);
  });

  it('password change from the API: a sign-in with the new password survives, and so does the kept session', async () => {
    const kept = await signIn(h);
    const other = await signIn(h, { email: kept.email });
    const res = await h.http
      .post('/auth/password/change')
      .set('Authorization', `Bearer ${kept.accessToken}`)
      .set('Cookie', kept.jar.header())
      .send({ currentPassword: PASSWORD, newPassword: NEW_PASSWORD, keepCurrentSession: true });
    expect(res.status).toBe(200);
    kept.jar.store(res.headers['set-cookie']);
    kept.accessToken = res.body.accessToken;
    const after = await signIn(h, { email: kept.email, password: NEW_PASSWORD });

    await applyLate(await storedEvent('user.password_changed', kept.userId));
    await expectLive(after);
    await expectLive(kept);
    await expectRevoked(other);
  });

  it('password reset from the API: a sign-in with the new password survives the late event', async () => {
    const before = await signIn(h);
    await h.http.post('/auth/password/forgot').send({ email: before.email }).expect(202);
    const mail = await waitFor(async () => (await mailsTo(h, before.email)).find((m) => m.kind === 'password_reset'), 'reset mail');
    const token = new URL(mail.link!).searchParams.get('token');
    await h.http.post('/auth/password/reset').send({ token, newPassword: NEW_PASSWORD }).expect(204);
    const after = await signIn(h, { email: before.email, password: NEW_PASSWORD });

    await applyLate(await storedEvent('user.password_changed', before.userId));
    await expectLive(after);
    await expectRevoked(before);
  });

  it('logout-all from a backend: revokes what existed at the 202, not a sign-in after it (whose next refresh carries the new version)', async () => {
    const before = await signIn(h);
    const [id] = await postEvents(h, credential, { type: 'user.logged_out_all', data: { userId: before.userId } });
    const after = await signIn(h, { email: before.email });

    await applyLate(await storedEvent('user.logged_out_all', before.userId));
    // The worker bumped the version (a backend's event): the access token is stale, the session is not.
    expect(await probe(h, after.accessToken)).toEqual({ status: 401, code: 'token_version_stale' });
    await expectLive(after);
    await expectRevoked(before);
    expect((await auditRecords(h, id!))[0]).toMatchObject({ type: 'user.logged_out_all', details: expect.objectContaining({ revokedSessions: 1 }) });
  });

  it('a session the API transaction could not see (opened before its event, committed after) is still revoked', async () => {
    const racing = await signIn(h);
    await h.http.post('/auth/logout-all').set('Authorization', `Bearer ${racing.accessToken}`).expect(204);
    const event = await storedEvent('user.logged_out_all', racing.userId);
    // As a login committing after the API's revocation would leave it: live, and opened before the event row.
    await h.deps.db.query(
      `UPDATE sessions SET revoked_at = NULL, revoke_reason = NULL, created_at = (SELECT created_at FROM events WHERE id = :eventId) - interval '1 millisecond'
       WHERE id = :sessionId`,
      { replacements: { eventId: event.id, sessionId: racing.sessionId } },
    );

    await applyLate(event);
    expect(await revokeReason(racing.sessionId)).toBe('logout_all');
    await expectRevoked(racing);
  });

  it('an event published straight into the queue (no stored row) revokes every session live when it is applied', async () => {
    const s = await signIn(h);
    const event = buildEvent({ type: 'user.logged_out_all', source: 'service:test', actor: { type: 'service', id: 'test' }, data: { userId: s.userId } });
    const after = await signIn(h, { email: s.email });

    await applyLate(event);
    await expectRevoked(s);
    await expectRevoked(after);
  });

  it.each([
    ['user.suspended', 'user_suspended'],
    ['user.security_reset', 'forbidden'],
  ] as const)('%s still revokes a session opened while it waited, and sign-in is refused once applied', async (type, loginCode) => {
    const s = await signIn(h);
    await postEvents(h, credential, { type, data: { userId: s.userId } });
    const meanwhile = await signIn(h, { email: s.email });

    await applyLate(await storedEvent(type, s.userId));
    await expectRevoked(s);
    await expectRevoked(meanwhile);
    expect((await h.http.post('/auth/login').send({ email: s.email, password: PASSWORD })).body.code).toBe(loginCode);
  });
});
