import { Queue, type ConnectionOptions } from 'bullmq';
import { parseEvent, type SecurityEvent } from './schemas';

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

  async publish(events: SecurityEvent | SecurityEvent[]): Promise<void> {
    const list = (Array.isArray(events) ? events : [events]).map((e) => parseEvent(e));
    if (list.length === 0) return;
    await this.queue.addBulk(list.map((e) => ({ name: e.type, data: e, opts: { ...JOB_OPTIONS, jobId: e.id } })));
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}
