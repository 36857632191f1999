import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { REVOKING_TYPES } from '../../shared/src/events/schemas';

export { REVOKING_TYPES };


const LAG_BUCKETS = [0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

/**
 * The worker's Prometheus metrics, on a registry of its own (tests run several workers in one
 * process). Lag is measured from the moment the event was stored (outbox row) or enqueued.
 */
export function createWorkerMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'latchkey_worker_' });
  return {
    registry,
    processed: new Counter({
      name: 'latchkey_events_processed_total',
      help: 'Security event deliveries by type and outcome (applied, duplicate, rejected, failed)',
      labelNames: ['type', 'outcome'] as const,
      registers: [registry],
    }),
    processingLag: new Histogram({
      name: 'latchkey_event_processing_lag_seconds',
      help: 'From an event being stored or enqueued to its effect committed (with its audit record staged) and Redis written',
      labelNames: ['type'] as const,
      buckets: LAG_BUCKETS,
      registers: [registry],
    }),
    revocationLag: new Histogram({
      name: 'latchkey_revocation_lag_seconds',
      help: 'From a revoking event being stored or enqueued to Redis refusing the affected tokens',
      labelNames: ['type'] as const,
      buckets: LAG_BUCKETS,
      registers: [registry],
    }),
    relayed: new Counter({
      name: 'latchkey_outbox_relayed_total',
      help: 'Pending outbox events (re-)enqueued by the relay',
      registers: [registry],
    }),
  };
}

export type WorkerMetrics = ReturnType<typeof createWorkerMetrics>;
