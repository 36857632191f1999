import type { Sequelize } from 'sequelize';
import { createBenchUsers, inParallel, login } from '../lib/fixtures';

/** One kind of synchronous revocation: how often it was tried and how often a revoked token got in. */
export interface SyncResult {
  name: string;
  tries: number;
  failures: number;
}

async function accepted(apiUrl: string, token: string): Promise<boolean> {
  const res = await fetch(`${apiUrl}/me`, { headers: { authorization: `Bearer ${token}` } });
  await res.arrayBuffer();
  if (res.status !== 200 && res.status !== 401) throw new Error(`GET /me answered ${res.status}`);
  return res.status === 200;
}

/**
 * G1: for each of logout, logout-all and DELETE /sessions/:id, `tries` times: the revocation is
 * answered by `apiUrl`, and the very next request with a revoked token, sent at once to the same API
 * and to `otherApiUrl` in parallel, must be refused. Every acceptance is counted as a failure.
 */
export async function checkSynchronousRevocations(db: Sequelize, apiUrl: string, otherApiUrl: string, tries: number): Promise<SyncResult[]> {
  const users = await createBenchUsers(db, tries * 3, 'g1');
  const results: SyncResult[] = [
    { name: 'POST /auth/logout (Bearer)', tries: 0, failures: 0 },
    { name: 'POST /auth/logout-all (both sessions)', tries: 0, failures: 0 },
    { name: 'DELETE /sessions/:id (the other session)', tries: 0, failures: 0 },
  ];
  const check = async (result: SyncResult, tokens: string[]) => {
    const outcomes = await Promise.all(tokens.flatMap((t) => [accepted(apiUrl, t), accepted(otherApiUrl, t)]));
    result.tries++;
    if (outcomes.some(Boolean)) result.failures++;
  };
  const expect204 = async (res: Response, what: string) => {
    await res.arrayBuffer();
    if (res.status !== 204) throw new Error(`${what} answered ${res.status}`);
  };
  await inParallel(Array.from({ length: tries }, (_, i) => i), 2, async (i) => {
    const [a, b, c] = [users[3 * i]!, users[3 * i + 1]!, users[3 * i + 2]!];

    const one = await login(apiUrl, a.email);
    await expect204(await fetch(`${apiUrl}/auth/logout`, { method: 'POST', headers: { authorization: `Bearer ${one.accessToken}` } }), 'logout');
    await check(results[0]!, [one.accessToken]);

    const [b1, b2] = [await login(apiUrl, b.email), await login(apiUrl, b.email)];
    await expect204(await fetch(`${apiUrl}/auth/logout-all`, { method: 'POST', headers: { authorization: `Bearer ${b1.accessToken}` } }), 'logout-all');
    await check(results[1]!, [b1.accessToken, b2.accessToken]);

    const [c1, c2] = [await login(apiUrl, c.email), await login(apiUrl, c.email)];
    await expect204(
      await fetch(`${apiUrl}/sessions/${c2.sessionId}`, { method: 'DELETE', headers: { authorization: `Bearer ${c1.accessToken}` } }),
      'DELETE /sessions/:id',
    );
    await check(results[2]!, [c2.accessToken]);
  });
  return results;
}
