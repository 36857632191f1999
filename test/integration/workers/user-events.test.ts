import { QueryTypes } from 'sequelize';
import { parseEvent } from '../../../shared/src/events/schemas';
import { eventOfRow } from '../../../workers/src/outbox-relay';
import { processJob } from '../../../workers/src/process-event';
import { PASSWORD } from '../../support/harness';
import { refresh, signIn } from '../../support/browser-session';
import { auditRecords, jobOf, mailsTo, postEvents, probe, serviceCredential, startRig, tokenVersion, waitFor, waitProcessed, type WorkerRig } from './worker-harness';
import { scanKeys, unlinkKeys } from '../../../shared/src/redis/nodes';

let rig: WorkerRig;
let credential: string;
beforeAll(async () => {
  rig = await startRig();
  ({ credential } = await serviceCredential(['events:write']));
});
afterAll(() => rig.close());

/** Sends one event through POST /v1/events and waits until the worker processed it. */
async function send(type: string, data: Record<string, unknown>): Promise<string> {
  const [id] = await postEvents(rig.h, credential, { type, data });
  const statuses = await waitProcessed(rig.h, [id!]);
  expect(statuses[id!]).toBe('processed');
  return id!;
}

describe('user and session events, end to end through POST /v1/events and a real worker', () => {
  it('user.suspended refuses the old token, sign-in and refresh; user.reinstated lets the user sign in again', async () => {
    const { h } = rig;
    const s = await signIn(h);
    expect((await probe(h, s.accessToken)).status).toBe(200);
    const before = await tokenVersion(h, s.userId);

    const id = await send('user.suspended', { userId: s.userId, reason: 'fraud review' });
    // The session is revoked by the suspension: the contract's first failing check is the session.
    expect(await probe(h, s.accessToken)).toEqual({ status: 401, code: 'session_revoked' });
    expect((await refresh(h, s)).body.code).toBe('session_revoked');
    const login = await h.http.post('/auth/login').send({ email: s.email, password: PASSWORD });
    expect(login.body.code).toBe('user_suspended');
    expect(await tokenVersion(h, s.userId)).toBe(before + 1);
    const [record] = await auditRecords(h, id);
    expect(record).toMatchObject({ type: 'user.suspended', severity: 'warning', user_id: s.userId });

    await send('user.reinstated', { userId: s.userId });
    expect(await tokenVersion(h, s.userId)).toBe(before + 2);
    const again = await signIn(h, { email: s.email });
    expect((await probe(h, again.accessToken)).status).toBe(200);
    expect(await probe(h, s.accessToken)).toEqual({ status: 401, code: 'session_revoked' });
  });

  it('user.reinstated for a user who is not suspended (or sent twice) changes nothing: the tokens stay accepted', async () => {
    const { h } = rig;
    const s = await signIn(h);
    const before = await tokenVersion(h, s.userId);
    const id = await send('user.reinstated', { userId: s.userId });
    expect(await tokenVersion(h, s.userId)).toBe(before);
    expect((await probe(h, s.accessToken)).status).toBe(200);
    expect((await auditRecords(h, id))[0]).toMatchObject({ type: 'user.reinstated', details: expect.objectContaining({ previousStatus: 'active', reinstated: false }) });

    await send('user.suspended', { userId: s.userId });
    await send('user.reinstated', { userId: s.userId });
    const again = await signIn(h, { email: s.email });
    await send('user.reinstated', { userId: s.userId });
    expect(await tokenVersion(h, s.userId)).toBe(before + 2);
    expect((await probe(h, again.accessToken)).status).toBe(200);
  });

  it('user.logged_out_all from a backend revokes every session; a fresh sign-in carries the new version', async () => {
    const { h } = rig;
    const a = await signIn(h);
    const b = await signIn(h, { email: a.email });
    const before = await tokenVersion(h, a.userId);
    await send('user.logged_out_all', { userId: a.userId });
    for (const s of [a, b]) expect(await probe(h, s.accessToken)).toEqual({ status: 401, code: 'session_revoked' });
    expect(await tokenVersion(h, a.userId)).toBe(before + 1);
    const fresh = await signIn(h, { email: a.email });
    expect((await probe(h, fresh.accessToken)).status).toBe(200);
  });

  it('user.password_changed keeps the named session (stale token, refresh works) and revokes the others', async () => {
    const { h } = rig;
    const kept = await signIn(h);
    const other = await signIn(h, { email: kept.email });
    await send('user.password_changed', { userId: kept.userId, keepSessionId: kept.sessionId });
    expect(await probe(h, kept.accessToken)).toEqual({ status: 401, code: 'token_version_stale' });
    expect(await probe(h, other.accessToken)).toEqual({ status: 401, code: 'session_revoked' });
    const res = await refresh(h, kept);
    expect(res.status).toBe(200);
    expect((await probe(h, kept.accessToken)).status).toBe(200);
    expect((await refresh(h, other)).body.code).toBe('session_revoked');
  });

  it('user.security_reset revokes everything and requires a password reset before the next sign-in', async () => {
    const { h } = rig;
    const s = await signIn(h);
    const id = await send('user.security_reset', { userId: s.userId, reason: 'credential stuffing' });
    expect(await probe(h, s.accessToken)).toEqual({ status: 401, code: 'session_revoked' });
    const login = await h.http.post('/auth/login').send({ email: s.email, password: PASSWORD });
    expect(login.status).toBe(403);
    expect(login.body.code).toBe('forbidden');
    expect((await auditRecords(h, id))[0]).toMatchObject({ type: 'user.security_reset', severity: 'critical' });

    await h.http.post('/auth/password/forgot').send({ email: s.email }).expect(202);
    const mail = await waitFor(async () => (await mailsTo(h, s.email)).find((m) => m.kind === 'password_reset'), 'reset mail');
    const token = new URL(mail.link!).searchParams.get('token');
    const newPassword = 'a brand new long passphrase';
    await h.http.post('/auth/password/reset').send({ token, newPassword }).expect(204);
    const after = await signIn(h, { email: s.email, password: newPassword });
    expect((await probe(h, after.accessToken)).status).toBe(200);
  });

  it('session.revoked revokes that family only', async () => {
    const { h } = rig;
    const a = await signIn(h);
    const b = await signIn(h, { email: a.email });
    const id = await send('session.revoked', { sessionId: a.sessionId, reason: 'device lost' });
    expect(await probe(h, a.accessToken)).toEqual({ status: 401, code: 'session_revoked' });
    expect((await refresh(h, a)).body.code).toBe('session_revoked');
    expect((await probe(h, b.accessToken)).status).toBe(200);
    expect((await auditRecords(h, id))[0]).toMatchObject({ type: 'session.revoked', session_id: a.sessionId });
  });

  it('refresh_token.reused sent by a backend revokes the family, writes a critical record and mails the user once', async () => {
    const { h } = rig;
    const s = await signIn(h);
    const id = await send('refresh_token.reused', { sessionId: s.sessionId, userId: s.userId, ip: '203.0.113.9' });
    expect(await probe(h, s.accessToken)).toEqual({ status: 401, code: 'session_revoked' });
    expect((await auditRecords(h, id))[0]).toMatchObject({ type: 'refresh_token.reused', severity: 'critical', session_id: s.sessionId });
    await waitFor(async () => (await mailsTo(h, s.email)).some((m) => m.kind === 'session_reuse_revoked'), 'reuse notice');
    expect((await mailsTo(h, s.email)).filter((m) => m.kind === 'session_reuse_revoked')).toHaveLength(1);
  });

  it('refresh_token.reused naming a session of another user (or none) is rejected: nothing revoked, no alarm, no mail', async () => {
    const { h } = rig;
    const owner = await signIn(h);
    const bystander = await signIn(h);
    const unknownSession = '00000000-0000-4000-8000-00000000beef';
    const ids = await postEvents(h, credential, {
      events: [
        { type: 'refresh_token.reused', data: { sessionId: owner.sessionId, userId: bystander.userId } },
        { type: 'refresh_token.reused', data: { sessionId: unknownSession, userId: bystander.userId } },
      ],
    });
    const statuses = await waitProcessed(h, ids);
    for (const id of ids) {
      expect(statuses[id]).toBe('failed');
      const records = await auditRecords(h, id);
      expect(records).toHaveLength(1);
      expect(records[0]).toMatchObject({ type: 'event.rejected', severity: 'warning' });
      const res = await h.http.get(`/v1/events/${id}`).set('Authorization', `Bearer ${credential}`);
      expect(res.body).toMatchObject({ status: 'failed', error: 'not_found: No such session of that user.' });
    }
    expect((await probe(h, owner.accessToken)).status).toBe(200);
    expect((await probe(h, bystander.accessToken)).status).toBe(200);
    // A delivery of a refused event is a duplicate, whose sync runs all the same: it mails nobody either.
    const [row] = await h.deps.db.query('SELECT * FROM events WHERE id = :id', { type: QueryTypes.SELECT, replacements: { id: ids[0] } });
    expect(await processJob(jobOf(parseEvent(eventOfRow(row as never))), rig.w.ctx)).toBe('duplicate');
    // An event reads processed only after its sync (which sends the notice): none can come later.
    for (const s of [owner, bystander]) expect((await mailsTo(h, s.email)).filter((m) => m.kind === 'session_reuse_revoked')).toEqual([]);
  });

  it('cache.rebuild_requested rewrites a flushed user state from Postgres (revoked stays revoked)', async () => {
    const { h } = rig;
    const live = await signIn(h);
    const revoked = await signIn(h, { email: live.email });
    await h.http.delete(`/sessions/${revoked.sessionId}`).set('Authorization', `Bearer ${live.accessToken}`).expect(204);
    const keys = await scanKeys(h.deps.redis, `${h.prefix}:{u:${live.userId}}:*`);
    expect(keys.length).toBeGreaterThan(0);
    await unlinkKeys(h.deps.redis, keys);
    const id = await send('cache.rebuild_requested', { scope: 'user', id: live.userId });
    const sessionKey = h.deps.keys.session(live.userId, revoked.sessionId);
    expect(await h.deps.redis.get(sessionKey)).toMatch(/\|revoked\|/);
    expect(await h.deps.redis.get(h.deps.keys.user(live.userId))).toMatch(/\|active$/);
    expect(await probe(h, revoked.accessToken)).toEqual({ status: 401, code: 'session_revoked' });
    expect((await probe(h, live.accessToken)).status).toBe(200);
    expect((await auditRecords(h, id))[0]).toMatchObject({ type: 'cache.rebuild_requested' });
  });

  it('an event about an unknown user is processed once into failed, with one event.rejected record', async () => {
    const { h } = rig;
    const [id] = await postEvents(h, credential, { type: 'user.suspended', data: { userId: '00000000-0000-4000-8000-00000000abcd' } });
    expect((await waitProcessed(h, [id!]))[id!]).toBe('failed');
    const records = await auditRecords(h, id!);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ type: 'event.rejected' });
    const res = await h.http.get(`/v1/events/${id}`).set('Authorization', `Bearer ${credential}`);
    expect(res.body).toMatchObject({ id, type: 'user.suspended', status: 'failed', error: expect.stringMatching(/^not_found/) });
  });
});
