import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { QueryTypes } from 'sequelize';
import { signIn } from '../../support/browser-session';
import { startHarness, type Harness } from '../../support/harness';
import { createOwnDatabase } from '../../support/own-database';
import { TEST_ENV } from '../../support/test-env';
import { FAST_WORKER_ENV, postEvents, serviceCredential, tokenVersion, waitFor, waitProcessed } from './worker-harness';

// A database of its own: no other test file's relay may apply these events.
let own: Awaited<ReturnType<typeof createOwnDatabase>>;
let h: Harness;
beforeAll(async () => {
  own = await createOwnDatabase('sigkill');
  h = await startHarness({ ...FAST_WORKER_ENV, DATABASE_URL: own.url });
});
afterAll(async () => {
  await h.close();
  await own.drop().catch(() => undefined);
});

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
      DATABASE_URL: own.url,
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

/** Events a worker has applied (claimed and committed); `processed` follows once their records are chained. */
const appliedCount = async (ids: string[]) => {
  const [row] = await h.deps.db.query<{ n: string }>('SELECT count(*) AS n FROM events WHERE id IN (:ids) AND processed_at IS NOT NULL', {
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
    const PER_USER = 60;
    const PER_POST = 10;
    const ids: string[] = [];
    const post = async () => {
      const events = Array.from({ length: PER_POST }, () => users.map((u) => ({ type: 'user.logged_out_all', data: { userId: u.userId } }))).flat();
      ids.push(...(await postEvents(h, credential, { events })));
    };

    // The worker is killed while events are still arriving: mid-stream by construction.
    const first = spawnWorker();
    let posting: Promise<void> | undefined;
    try {
      await post();
      await waitFor(async () => (await appliedCount(ids)) >= 10, 'the first events applied', 60_000);
      posting = (async () => {
        for (let i = PER_POST; i < PER_USER; i += PER_POST) await post();
      })();
      await waitFor(async () => ids.length > PER_POST * users.length, 'more events posted');
      signal(first, 'SIGKILL');
      await waitFor(async () => groupGone(first), 'the killed worker to be gone');
      await posting;
      expect(await appliedCount(ids)).toBeLessThan(ids.length); // killed mid-stream, not after the end
    } finally {
      signal(first, 'SIGKILL');
      await posting?.catch(() => undefined);
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
