import { FAULT_PASSWORD } from './support/fault-env';
import { bearer, call, login, me, type Signed } from './support/http';
import { createUsers, sleep } from './support/fixtures';
import { FaultRig, type Api } from './support/rig';

/**
 * R2: FLUSHALL of the (private) Redis, five times, while revoked and valid tokens are tried
 * continuously, and while more sessions are revoked: a token whose revocation was answered is
 * never accepted by a request sent after that answer; valid tokens keep working (rebuilt from
 * Postgres on the miss).
 */
let rig: FaultRig;
let api: Api;

beforeAll(async () => {
  rig = await FaultRig.start('r2');
  api = await rig.api();
});
afterAll(async () => {
  await rig?.close();
});

it('R2: FLUSHALL during continuous verification: 0 revoked accepted, valid ones keep working', async () => {
  const users = await createUsers(rig.db, 30, 'r2');
  const sessions: Signed[] = [];
  for (const u of users) sessions.push(await login(api.url, u.email, FAULT_PASSWORD));
  /** When each token's revocation was answered (ms); absent: valid. */
  const revokedAt = new Map<string, number>();
  const revoke = async (s: Signed, how: 'logout' | 'logout-all') => {
    const r = await call(api.url, 'POST', `/auth/${how}`, { headers: bearer(s.accessToken) });
    if (r.status !== 204) throw new Error(`${how}: ${r.status} ${r.text}`);
    revokedAt.set(s.accessToken, Date.now());
  };
  for (const s of sessions.slice(0, 5)) await revoke(s, 'logout');
  for (const s of sessions.slice(5, 10)) await revoke(s, 'logout-all');

  const counts = { probes: 0, revokedProbes: 0, wrongAccepts: 0, validProbes: 0, validRefused: 0, flushes: 0 };
  const refusals: string[] = [];
  let stop = false;
  const prober = async () => {
    for (let i = 0; !stop && i < 5_000; i++) {
      const s = sessions[i % sessions.length]!;
      const sentAt = Date.now();
      const r = await me(api.url, s.accessToken);
      counts.probes++;
      const revoked = revokedAt.get(s.accessToken);
      if (revoked !== undefined && revoked < sentAt) {
        counts.revokedProbes++;
        if (r.status === 200) counts.wrongAccepts++;
      } else if (revoked === undefined) {
        counts.validProbes++;
        if (r.status !== 200) {
          counts.validRefused++;
          refusals.push(`${r.status} ${r.body?.code}`);
        }
      }
    }
  };
  const flusher = async () => {
    for (let i = 0; i < 5; i++) {
      await sleep(1_200);
      await rig.redis.cli('FLUSHALL');
      counts.flushes++;
      // Revocations keep happening between flushes (G1 must hold through them).
      await revoke(sessions[10 + i * 2]!, 'logout');
      await revoke(sessions[11 + i * 2]!, 'logout-all');
    }
    await sleep(1_000);
    stop = true;
  };
  await Promise.all([prober(), prober(), prober(), prober(), flusher()]);

  // After the last flush, every verdict is right, and the state is back in Redis.
  for (const s of sessions) {
    const r = await me(api.url, s.accessToken);
    expect(r.status).toBe(revokedAt.has(s.accessToken) ? 401 : 200);
  }
  const valid = sessions.find((s) => !revokedAt.has(s.accessToken))!;
  expect(await rig.redis.cli('EXISTS', `${rig.prefix}:{u:${valid.userId}}:s:${valid.sessionId}`)).toBe('1');

  console.log(
    `R2 flushes=${counts.flushes} probes=${counts.probes} revoked_probes=${counts.revokedProbes} wrong_accepts=${counts.wrongAccepts} ` +
      `valid_probes=${counts.validProbes} valid_refused=${counts.validRefused} revoked_tokens=${revokedAt.size}`,
  );
  expect(counts.flushes).toBe(5);
  expect(counts.revokedProbes).toBeGreaterThan(100);
  expect(counts.wrongAccepts).toBe(0);
  expect(refusals.slice(0, 10)).toEqual([]);
  expect(api.proc.alive).toBe(true);
});
