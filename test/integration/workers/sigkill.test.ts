import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { QueryTypes } from 'sequelize';
import { signIn } from '../../support/browser-session';
import { startHarness, type Harness } from '../../support/harness';
import { TEST_ENV } from '../../support/test-env';
import { FAST_WORKER_ENV, postEvents, serviceCredential, tokenVersion, waitFor, waitProcessed } from './worker-harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness(FAST_WORKER_ENV);
});
afterAll(() => h.close());

/**
 * A real worker process (`npx tsx workers/src/main.ts`) on the test database and this test's
 * prefixes, in a process group of its own: npx and tsx are wrappers, so signals go to the group.
 */
function spawnWorker(): ChildProcess {
  return spawn('npx', ['tsx', 'workers/src/main.ts'], {
    cwd: path.resolve(__dirname, '../../..'),
    env: {
      ...process.env,
      ...TEST_ENV,
      ...FAST_WORKER_ENV,
      REDIS_KEY_PREFIX: h.config.redisKeyPrefix,
      QUEUE_PREFIX: h.config.queuePrefix,
      MAIL_OUTBOX_FILE: h.mailFile,
      WORKER_CONCURRENCY: '4',
    },
    stdio: 'ignore',
    detached: true,
  });
}

/** Signals the worker's whole process group (npx, tsx and the node process running the worker). */
function signal(child: ChildProcess, sig: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, sig);
  } catch {
    /* already gone */
  }
}

/** True once no process of the group is left. */
function groupGone(child: ChildProcess): boolean {
  try {
    process.kill(-child.pid!, 0);
    return false;
  } catch {
    return true;
  }
}

const processedCount = async (ids: string[]) => {
  const [row] = await h.deps.db.query<{ n: string }>("SELECT count(*) AS n FROM events WHERE id IN (:ids) AND status <> 'pending'", {
    type: QueryTypes.SELECT,
    replacements: { ids },
  });
  return Number(row!.n);
};

describe('a worker process killed with SIGKILL mid-stream', () => {
  it('after a restart every event is processed with exactly one audit record and one bump each', async () => {
    const users = await Promise.all([signIn(h), signIn(h), signIn(h)]);
    const before = await Promise.all(users.map((u) => tokenVersion(h, u.userId)));
    const { credential } = await serviceCredential();
    // Enough that the worker (which applies the deliveries it holds together) is still busy when killed.
    const PER_USER = 200;
    const PER_POST = 20;
    const ids: string[] = [];
    for (let i = 0; i < PER_USER; i += PER_POST) {
      const events = Array.from({ length: PER_POST }, () => users.map((u) => ({ type: 'user.logged_out_all', data: { userId: u.userId } }))).flat();
      ids.push(...(await postEvents(h, credential, { events })));
    }

    const first = spawnWorker();
    try {
      await waitFor(async () => (await processedCount(ids)) >= 10, 'the first events processed', 60_000);
      signal(first, 'SIGKILL');
      await waitFor(async () => groupGone(first), 'the killed worker to be gone');
      const done = await processedCount(ids);
      expect(done).toBeLessThan(ids.length); // killed mid-stream, not after the end
    } finally {
      signal(first, 'SIGKILL');
    }

    const second = spawnWorker();
    try {
      const statuses = await waitProcessed(h, ids, 90_000);
      expect(Object.values(statuses).every((s) => s === 'processed')).toBe(true);
    } finally {
      signal(second, 'SIGTERM');
      await waitFor(async () => groupGone(second), 'the second worker to shut down', 40_000);
    }
    const [dupes] = await h.deps.db.query<{ records: string; distinct_ids: string }>(
      'SELECT count(*) AS records, count(DISTINCT event_id) AS distinct_ids FROM audit_logs WHERE event_id IN (:ids)',
      { type: QueryTypes.SELECT, replacements: { ids } },
    );
    expect(Number(dupes!.records)).toBe(ids.length);
    expect(Number(dupes!.distinct_ids)).toBe(ids.length);
    const after = await Promise.all(users.map((u) => tokenVersion(h, u.userId)));
    expect(after).toEqual(before.map((v) => v + PER_USER));
  }, 180_000);
});
