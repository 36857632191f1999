import { UnrecoverableError, type Job } from 'bullmq';
import { isAppError } from '../../shared/src/errors/app-error';
import { isDependencyUnavailable } from '../../shared/src/errors/unavailable';
import { parseEvent, type SecurityEvent } from '../../shared/src/events/schemas';
import { batchesOf, writeCommitted } from './apply-batches';
import { rejectEvent, rejectExhausted, rejectMalformed } from './event-rejections';
import { markFailure } from './event-rows';
import type { HandlerContext, HandlerRegistry, WriteThrough } from './handler';
import type { WorkerMetrics } from './metrics';
import { REVOKING_TYPES } from './metrics';
import { HANDLERS, handlerFor } from './registry';

export type Outcome = 'applied' | 'duplicate';

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
 * transient and rethrown for BullMQ's exponential backoff; when no attempt is left, the event is
 * rejected for good with its one `event.rejected` record (`rejectExhausted`), so that an event
 * never ends without an audit record. If even that cannot be written (Postgres down), its row
 * stays pending and the outbox relay gives it a new round of attempts.
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
    await rejectMalformed(ctx.db, ctx.logger, job, err);
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
      const error = `${err.code}: ${err.publicDetail ?? err.message}`;
      await rejectEvent(ctx.db, event, { error, details: err.detail ? { detail: err.detail } : {} });
      metrics?.processed.inc({ type: event.type, outcome: 'rejected' });
      ctx.logger.warn({ eventId: event.id, type: event.type, code: err.code, detail: err.detail }, 'security event rejected');
      throw new UnrecoverableError(`event rejected: ${err.code}`);
    } else {
      const attempt = job.attemptsMade + 1;
      const final = attempt >= (job.opts.attempts ?? 1);
      metrics?.processed.inc({ type: event.type, outcome: 'failed' });
      ctx.logger.error({ eventId: event.id, type: event.type, attempt, final, err: String(err) }, 'security event failed');
      if (final) await giveUp(event, attempt, err, ctx);
      else await markFailure(ctx.db, event.id).catch(() => undefined);
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

/** The last attempt failed: the event is rejected for good, or left pending for the relay. */
async function giveUp(event: SecurityEvent, attempts: number, err: unknown, ctx: HandlerContext): Promise<void> {
  // A dependency still down after every attempt is not the event's fault: it stays pending and
  // the relay gives it a new round of attempts once it answers (G3), rather than being dropped.
  if (isDependencyUnavailable(err)) {
    ctx.logger.error({ eventId: event.id, type: event.type, attempts, err: String(err) }, 'security event left pending for the outbox relay');
    await markFailure(ctx.db, event.id).catch(() => undefined);
    return;
  }
  try {
    if (await rejectExhausted(ctx.db, event, attempts, err)) {
      ctx.logger.error({ eventId: event.id, type: event.type, attempts }, 'security event rejected: retries exhausted');
    }
  } catch (writeErr) {
    ctx.logger.error({ eventId: event.id, type: event.type, err: String(writeErr) }, 'security event left pending for the outbox relay');
    await markFailure(ctx.db, event.id).catch(() => undefined);
  }
}
