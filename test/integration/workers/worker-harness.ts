import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { QueryTypes } from 'sequelize';
import type { SecurityEvent } from '../../../shared/src/events/schemas';
import { createLogger } from '../../../shared/src/logging/logger';
import { createServiceClient, type ServiceScope } from '../../../shared/src/security/service-credentials';
import { createHandlerContext } from '../../../workers/src/context';
import { startWorker, type RunningWorker } from '../../../workers/src/worker';
import { startHarness, type Harness } from '../../support/harness';

/** The API harness plus a real worker on the same database, Redis key prefix and queue prefix. */
export interface WorkerRig {
  h: Harness;
  w: RunningWorker;
  close(): Promise<void>;
}

/** Env that makes the relay and stalled-job recovery quick enough for tests. */
export const FAST_WORKER_ENV = { OUTBOX_RELAY_DELAY: '1', WORKER_LOCK_DURATION: '3' };

export async function startRig(env: Record<string, string> = {}, options: { apiRedisUrl?: string } = {}): Promise<WorkerRig> {
  const h = await startHarness({ ...FAST_WORKER_ENV, ...env }, { redisUrl: options.apiRedisUrl });
  const w = await startWorker(h.config, { logger: createLogger({ level: 'silent', service: 'test-worker' }), relayIntervalMs: 200 });
  return {
    h,
    w,
    async close() {
      await w.close();
      await h.close();
    },
  };
}

/**
 * The API harness plus a worker's handler context, but no BullMQ worker or relay: deliveries are
 * the test's alone, given to `processJob` by hand.
 */
export async function startHandlerRig(): Promise<{ h: Harness; ctx: ReturnType<typeof createHandlerContext>; close(): Promise<void> }> {
  const h = await startHarness();
  const ctx = createHandlerContext(h.config, createLogger({ level: 'silent', service: 'test-worker' }));
  return {
    h,
    ctx,
    async close() {
      await ctx.close();
      await h.close();
    },
  };
}

/** The job a BullMQ worker would hand `processJob` for `event`, on its first attempt of `attempts`. */
export const jobOf = (event: SecurityEvent, attempts = 3) => ({ id: event.id, name: event.type, data: event, attemptsMade: 0, opts: { attempts }, timestamp: Date.now() });

/** A credential of a new service client (as `cli service-client create` makes one). */
export async function serviceCredential(scopes: ServiceScope[] = ['events:write']): Promise<{ credential: string; name: string }> {
  const name = `svc-${randomUUID().slice(0, 8)}`;
  const { credential } = await createServiceClient(name, scopes);
  return { credential, name };
}

/** POST /v1/events; returns the event ids (throws unless 202). */
export async function postEvents(h: Harness, credential: string, body: unknown): Promise<string[]> {
  const res = await h.http.post('/v1/events').set('Authorization', `Bearer ${credential}`).send(body as object);
  if (res.status !== 202) throw new Error(`POST /v1/events: ${res.status} ${res.text}`);
  return res.body.eventIds;
}

/** Polls until `check` returns a truthy value (tests have their own jest timeout). */
export async function waitFor<T>(check: () => Promise<T | undefined | null | false>, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Waits until every event left `pending`; returns their statuses. */
export async function waitProcessed(h: Harness, ids: string[], timeoutMs?: number): Promise<Record<string, string>> {
  return waitFor(
    async () => {
      const rows = await h.deps.db.query<{ id: string; status: string }>('SELECT id, status FROM events WHERE id IN (:ids)', {
        type: QueryTypes.SELECT,
        replacements: { ids },
      });
      if (rows.length !== ids.length || rows.some((r) => r.status === 'pending')) return undefined;
      return Object.fromEntries(rows.map((r) => [r.id, r.status]));
    },
    `events ${ids.length} processed`,
    timeoutMs,
  );
}

export async function auditRecords(h: Harness, eventId: string) {
  return h.deps.db.query<{ type: string; severity: string; user_id: string | null; session_id: string | null; details: Record<string, unknown> }>(
    'SELECT type, severity, user_id, session_id, details FROM audit_logs WHERE event_id = :eventId',
    { type: QueryTypes.SELECT, replacements: { eventId } },
  );
}

export async function tokenVersion(h: Harness, userId: string): Promise<number> {
  const [row] = await h.deps.db.query<{ token_version: number }>('SELECT token_version FROM users WHERE id = :userId', {
    type: QueryTypes.SELECT,
    replacements: { userId },
  });
  return row!.token_version;
}

/** The messages the file mail transport wrote for one address. */
export async function mailsTo(h: Harness, to: string): Promise<Array<{ to: string; kind: string; link: string | null }>> {
  const text = await readFile(h.mailFile, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l))
    .filter((m) => m.to === to);
}

/** GET /me with a token: the status and the refusal code, if any. */
export async function probe(h: Harness, accessToken: string): Promise<{ status: number; code?: string }> {
  const res = await h.http.get('/me').set('Authorization', `Bearer ${accessToken}`);
  return { status: res.status, code: res.body?.code };
}
