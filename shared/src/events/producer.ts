import { Queue, type ConnectionOptions } from 'bullmq';
import { AppError } from '../errors/app-error';
import { eventEnvelopeSchema, type SecurityEvent } from './schemas';

/** The one queue of security events; job name = event type, job id = event id. */
export const SECURITY_EVENTS_QUEUE = 'security-events';

/** Retries with exponential backoff for transient failures; malformed jobs fail once (worker side). */
export const JOB_OPTIONS = {
  attempts: 12,
  backoff: { type: 'exponential', delay: 200 },
  removeOnComplete: { age: 3600, count: 10_000 },
  removeOnFail: { age: 7 * 86_400 },
} as const;

/**
 * Typed producer: validates each event with the shared schema, then enqueues it. Product backends
 * may import this to publish straight into the queue; the API publishes its outbox rows with it.
 */
export class EventProducer {
  readonly queue: Queue;
  constructor(connection: ConnectionOptions, prefix: string, queueName = SECURITY_EVENTS_QUEUE) {
    this.queue = new Queue(queueName, { connection, prefix });
    // Connection errors surface as failed publishes (handled by the outbox); do not crash on them.
    this.queue.on('error', () => undefined);
  }

  /**
   * Enqueues the events, all or none. An event that does not match its schema throws
   * AppError `validation_failed` before anything is enqueued (see `validateEvents`).
   */
  async publish(events: SecurityEvent | SecurityEvent[]): Promise<void> {
    const list = validateEvents(Array.isArray(events) ? events : [events]);
    if (list.length === 0) return;
    await this.queue.addBulk(list.map((e) => ({ name: e.type, data: e, opts: { ...JOB_OPTIONS, jobId: e.id } })));
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}

/** How many invalid events, and issues per event, a validation error names (the rest are counted). */
const NAMED_EVENTS = 5;
const NAMED_ISSUES = 10;

/**
 * Parses every event with the shared schema. Any invalid one throws AppError `validation_failed`
 * (the contract's code for a malformed event) whose public detail names, per invalid event, its
 * index and the paths and codes of its issues: never a value, which could be a secret a caller
 * put in the wrong field.
 */
export function validateEvents(events: unknown[]): SecurityEvent[] {
  const parsed: SecurityEvent[] = [];
  const invalid: string[] = [];
  events.forEach((event, index) => {
    const result = eventEnvelopeSchema.safeParse(event);
    if (result.success) {
      parsed.push(result.data as SecurityEvent);
      return;
    }
    const issues = [...new Set(result.error.issues.map((i) => `${i.path.map(String).join('.') || '(event)'} (${i.code})`))];
    const more = issues.length > NAMED_ISSUES ? ` and ${issues.length - NAMED_ISSUES} more` : '';
    invalid.push(`event ${index}: ${issues.slice(0, NAMED_ISSUES).join(', ')}${more}`);
  });
  if (invalid.length === 0) return parsed;
  const more = invalid.length > NAMED_EVENTS ? `; and ${invalid.length - NAMED_EVENTS} more invalid events` : '';
  const publicDetail = `Invalid security event: ${invalid.slice(0, NAMED_EVENTS).join('; ')}${more}`;
  throw new AppError('validation_failed', { publicDetail, detail: `EventProducer.publish refused ${invalid.length} of ${events.length} events` });
}
