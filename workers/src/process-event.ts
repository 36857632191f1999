import { UnrecoverableError, type Job } from 'bullmq';
import { z } from 'zod';
import { appendAuditRecord } from '../../shared/src/audit/audit-writer';
import { isAppError } from '../../shared/src/errors/app-error';
import { parseEvent, type SecurityEvent } from '../../shared/src/events/schemas';
import { batchesOf, writeCommitted } from './apply-batches';
import { markFailure, markRejected } from './event-rows';
import type { HandlerContext, HandlerRegistry, WriteThrough } from './handler';
import type { WorkerMetrics } from './metrics';
import { REVOKING_TYPES } from './metrics';
import { HANDLERS, handlerFor } from './registry';

export type Outcome = 'applied' | 'duplicate';

const isUuid = (v: unknown): v is string => z.uuid().safeParse(v).success;

/**
 * Processes one delivery of a security event:
 * 1. validates the job with the shared schema; a malformed job leaves one `event.rejected` audit
 *    record and fails once (UnrecoverableError: no retries);
 * 2. in one transaction, shared with the other deliveries the process holds at that moment
 *    (apply-batches.ts): claims the event (event-rows.ts; a delivery that finds it taken is a
 *    duplicate and applies nothing), `apply`, and stages the audit record;
 * 3. when applied, the handler's write-through (its version bumps and revocations) goes to Redis
 *    at once; then on every delivery, `sync` (so Redis is repaired even if a previous attempt
 *    crashed after commit), then the event's staged record is released and a drain into the
 *    chain is asked for, not awaited: jobs do not queue behind the chain, and the chain takes the
 *    records of many jobs per transaction. Chaining marks the event `processed`, so `processed` follows the Redis write.
 *    A staged record is durable; the event reads `processed` once its record is in the chain.
 *    Records staged by a crashed process are chained by any worker's drain a few seconds later.
 * A handler's AppError of a client kind (not_found, validation_failed...) is permanent: it is
 * audited as `event.rejected` for that event id and fails without retries. Anything else is
 * transient and rethrown for BullMQ's exponential backoff.
 */
export async function processJob(
  job: Pick<Job, 'id' | 'name' | 'data' | 'attemptsMade' | 'opts' | 'timestamp'>,
  ctx: HandlerContext,
  metrics?: WorkerMetrics,
  registry: HandlerRegistry = HANDLERS,
): Promise<Outcome> {
  let event: SecurityEvent;
  try {
    event = parseEvent(job.data);
    if (job.name !== event.type) throw new Error(`job name ${job.name} differs from event type ${event.type}`);
  } catch (err) {
    await rejectMalformed(job, err, ctx);
    metrics?.processed.inc({ type: 'malformed', outcome: 'rejected' });
    throw new UnrecoverableError('malformed security event');
  }
  const handler = handlerFor(event.type, registry);
  let outcome: Outcome;
  let storedAt: Date | undefined;
  let writeThrough: WriteThrough | undefined;
  try {
    ({ outcome, storedAt, writeThrough } = await batchesOf(ctx).apply(event, handler as never));
  } catch (err) {
    if (isAppError(err) && err.status < 500) {
      await rejectEvent(event, `${err.code}: ${err.publicDetail ?? err.message}`, err.detail, ctx);
      metrics?.processed.inc({ type: event.type, outcome: 'rejected' });
      ctx.logger.warn({ eventId: event.id, type: event.type, code: err.code, detail: err.detail }, 'security event rejected');
      throw new UnrecoverableError(`event rejected: ${err.code}`);
    } else {
      const final = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      await markFailure(ctx.db, event.id, final).catch(() => undefined);
      metrics?.processed.inc({ type: event.type, outcome: 'failed' });
      ctx.logger.error({ eventId: event.id, type: event.type, attempt: job.attemptsMade + 1, final, err: String(err) }, 'security event failed');
      throw err;
    }
  }
  // The revocation first (committed values, no Postgres read), then the user's whole state.
  let visibleAt: number | undefined;
  if (writeThrough) {
    await writeCommitted(ctx, writeThrough);
    visibleAt = Date.now();
  }
  await handler.sync(event as never, ctx);
  // Released for the chain only now that its effects are in Redis (chained = `processed`). The
  // staged record is durable: chained by this drain, by the next one, or after a while by any
  // worker's drain if this process dies first.
  ctx.auditChain.flushed([event.id]).catch((err: unknown) => ctx.logger.warn({ err: String(err) }, 'audit chain drain failed; retried by the next one'));
  metrics?.processed.inc({ type: event.type, outcome });
  if (outcome === 'applied' && metrics) {
    const since = storedAt?.getTime() ?? job.timestamp;
    const now = Date.now();
    metrics.processingLag.observe({ type: event.type }, Math.max(0, now - since) / 1000);
    // Revoked once Redis says so: at the write-through, or at the sync for handlers without one.
    if (REVOKING_TYPES.has(event.type)) metrics.revocationLag.observe({ type: event.type }, Math.max(0, (visibleAt ?? now) - since) / 1000);
  }
  return outcome;
}

/** A valid event its handler refused: its one audit record says so, and its row is failed. */
async function rejectEvent(event: SecurityEvent, error: string, detail: string | undefined, ctx: HandlerContext): Promise<void> {
  await ctx.db.transaction(async (t) => {
    if (!(await markRejected(ctx.db, event.id, error, t, event))) return;
    await appendAuditRecord(ctx.db, t, {
      eventId: event.id,
      type: 'event.rejected',
      severity: 'warning',
      occurredAt: new Date(),
      actor: { type: 'system', id: 'latchkey-worker' },
      requestId: event.requestId ?? null,
      details: { eventType: event.type, source: event.source, error, ...(detail ? { detail } : {}) },
    });
  });
}

/**
 * A job that does not match the schema. Only the job id, its name and the paths and codes of the
 * schema issues are recorded, never the payload's values (they could hold anything, secrets too).
 */
async function rejectMalformed(job: Pick<Job, 'id' | 'name' | 'data'>, err: unknown, ctx: HandlerContext): Promise<void> {
  const issues =
    err instanceof z.ZodError
      ? err.issues.slice(0, 20).map((i) => ({ path: i.path.map(String).join('.'), code: i.code }))
      : [{ path: '', code: err instanceof Error ? err.message.slice(0, 200) : 'invalid' }];
  const eventId = isUuid(job.id) ? job.id : null;
  ctx.logger.warn({ jobId: job.id, jobName: job.name, issues }, 'malformed security event rejected');
  await ctx.db.transaction(async (t) => {
    if (eventId && !(await markRejected(ctx.db, eventId, 'validation_failed: the event does not match its schema', t))) return;
    await appendAuditRecord(ctx.db, t, {
      eventId,
      type: 'event.rejected',
      severity: 'warning',
      occurredAt: new Date(),
      actor: { type: 'system', id: 'latchkey-worker' },
      details: { jobId: String(job.id ?? ''), jobName: String(job.name ?? '').slice(0, 100), issues },
    });
  });
}
