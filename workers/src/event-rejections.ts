import type { Job } from 'bullmq';
import type { Sequelize } from 'sequelize';
import { z } from 'zod';
import { appendAuditRecord, type NewAuditRecord } from '../../shared/src/audit/audit-writer';
import { REVOKING_TYPES, type SecurityEvent } from '../../shared/src/events/schemas';
import { isUuid } from '../../shared/src/validation/storable';
import type { Logger } from '../../shared/src/logging/logger';
import { EXHAUSTED_FAILURE, markRejected } from './event-rows';

/** The actor of the records the worker writes about events it could not apply. */
const WORKER_ACTOR = { type: 'system', id: 'latchkey-worker' } as const;

/** How an event that will never be applied is recorded. */
export interface Rejection {
  /** The row's `error` (shown by `GET /v1/events/:id`) and the record's `details.error`. */
  error: string;
  severity?: NewAuditRecord['severity'];
  /** Added to the record's details. */
  details?: Record<string, unknown>;
  /** Also link the record to the user, organization and session the event names. */
  withSubjects?: boolean;
}

/**
 * A valid event that will never be applied: its row becomes `failed` with the reason and, in the
 * same transaction, its one audit record is an `event.rejected` record saying so. Under the row
 * lock of a claim (`markRejected`): when a delivery has claimed the event already, or it was
 * rejected before, nothing is written (the event's one record belongs to that outcome). Returns
 * whether the record was written.
 */
export async function rejectEvent(db: Sequelize, event: SecurityEvent, rejection: Rejection): Promise<boolean> {
  return db.transaction(async (t) => {
    if (!(await markRejected(db, event.id, rejection.error, t, event))) return false;
    const data = event.data as { userId?: string; organizationId?: string; sessionId?: string };
    await appendAuditRecord(db, t, {
      eventId: event.id,
      type: 'event.rejected',
      severity: rejection.severity ?? 'warning',
      occurredAt: new Date(),
      actor: WORKER_ACTOR,
      requestId: event.requestId ?? null,
      ...(rejection.withSubjects ? { userId: data.userId ?? null, organizationId: data.organizationId ?? null, sessionId: data.sessionId ?? null } : {}),
      details: { eventType: event.type, source: event.source, error: rejection.error, ...rejection.details },
    });
    return true;
  });
}

/**
 * A valid event whose every attempt failed transiently (a handler bug, a dependency down for
 * longer than the backoff): it is not retried any more, and the security team must see that its
 * effect was never applied. Its one record is an `event.rejected` record, `critical` when the event
 * was to refuse tokens (a revocation that did not happen), `warning` otherwise; it names the
 * number of attempts and the last error's class, not its message (which may quote anything).
 */
export function rejectExhausted(db: Sequelize, event: SecurityEvent, attempts: number, lastError: unknown): Promise<boolean> {
  return rejectEvent(db, event, {
    error: EXHAUSTED_FAILURE,
    severity: REVOKING_TYPES.has(event.type) ? 'critical' : 'warning',
    details: { attempts, lastError: lastError instanceof Error ? lastError.name : typeof lastError },
    withSubjects: true,
  });
}

/**
 * A job (or a stored row) that does not match the schema. Only its id, its name and the paths and
 * codes of the schema issues are recorded, never the payload's values (they could hold anything,
 * secrets too). The event id is the job id when that is a uuid; the row, if any, becomes `failed`.
 */
export async function rejectMalformed(db: Sequelize, logger: Logger, job: Pick<Job, 'id' | 'name'>, err: unknown): Promise<void> {
  const issues =
    err instanceof z.ZodError
      ? err.issues.slice(0, 20).map((i) => ({ path: i.path.map(String).join('.'), code: i.code }))
      : [{ path: '', code: err instanceof Error ? err.message.slice(0, 200) : 'invalid' }];
  const eventId = isUuid(job.id) ? job.id : null;
  logger.warn({ jobId: job.id, jobName: job.name, issues }, 'malformed security event rejected');
  await db.transaction(async (t) => {
    if (eventId && !(await markRejected(db, eventId, 'validation_failed: the event does not match its schema', t))) return;
    await appendAuditRecord(db, t, {
      eventId,
      type: 'event.rejected',
      severity: 'warning',
      occurredAt: new Date(),
      actor: WORKER_ACTOR,
      details: { jobId: String(job.id ?? ''), jobName: String(job.name ?? '').slice(0, 100), issues },
    });
  });
}
