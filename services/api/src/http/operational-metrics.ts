import { Gauge } from 'prom-client';
import { QueryTypes } from 'sequelize';
import { REVOKING_TYPES } from '../../../../shared/src/events/schemas';
import { withTimeout } from '../../../../shared/src/util/with-timeout';
import type { ApiDeps } from '../deps';

/** How far back the recent-lag quantiles look. */
const LAG_WINDOW_SECONDS = 300;

/**
 * Gauges read at scrape time, so the API's /metrics shows the whole pipeline whichever worker is
 * (not) running: outbox depth and age, queue depth, recent event processing and revocation lag
 * (from stored to processed, p50/p99 over five minutes) and the verification cache hit ratio.
 * Each worker's own histograms are on its /metrics (WORKER_METRICS_PORT).
 */
export function registerOperationalMetrics(deps: ApiDeps): void {
  const { registry } = deps.metrics;
  if (registry.getSingleMetric('latchkey_outbox_pending_events')) return;

  const outbox = async () => {
    const [row] = await deps.db.query<{ pending: string; oldest: number | null }>(
      `SELECT count(*) AS pending, EXTRACT(EPOCH FROM now() - min(created_at))::float8 AS oldest FROM events WHERE status = 'pending'`,
      { type: QueryTypes.SELECT },
    );
    return { pending: Number(row?.pending ?? 0), oldest: Number(row?.oldest ?? 0) };
  };
  new Gauge({
    name: 'latchkey_outbox_pending_events',
    help: 'Security events stored but not yet processed',
    registers: [registry],
    async collect() {
      this.set((await outbox().catch(() => ({ pending: -1 }))).pending);
    },
  });
  new Gauge({
    name: 'latchkey_outbox_oldest_pending_seconds',
    help: 'Age of the oldest unprocessed security event',
    registers: [registry],
    async collect() {
      this.set((await outbox().catch(() => ({ oldest: -1 }))).oldest);
    },
  });

  new Gauge({
    name: 'latchkey_queue_jobs',
    help: 'Jobs of the security-events queue by state',
    labelNames: ['state'] as const,
    registers: [registry],
    async collect() {
      const counts = await withTimeout(deps.producer.queue.getJobCounts('waiting', 'active', 'delayed', 'failed').catch(() => undefined), 1_000);
      for (const [state, n] of Object.entries(counts ?? {})) this.set({ state }, n);
    },
  });

  new Gauge({
    name: 'latchkey_recent_event_lag_seconds',
    help: `Event lag from stored to processed over the last ${LAG_WINDOW_SECONDS} s; kind=revocation for events that refuse tokens`,
    labelNames: ['kind', 'quantile'] as const,
    registers: [registry],
    async collect() {
      this.reset(); // no event in the window (or no answer): no sample, never the last one again
      const rows = await deps.db
        .query<{ revocation: boolean; p50: number | null; p99: number | null }>(
          `SELECT type = ANY(ARRAY[:revoking]::text[]) AS revocation,
                  percentile_cont(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM processed_at - created_at))::float8 AS p50,
                  percentile_cont(0.99) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM processed_at - created_at))::float8 AS p99
           FROM events WHERE status = 'processed' AND processed_at > now() - make_interval(secs => :window)
           GROUP BY 1`,
          { type: QueryTypes.SELECT, replacements: { revoking: [...REVOKING_TYPES], window: LAG_WINDOW_SECONDS } },
        )
        .catch(() => []);
      for (const row of rows) {
        const kind = row.revocation ? 'revocation' : 'processing';
        if (row.p50 !== null) this.set({ kind, quantile: '0.5' }, row.p50);
        if (row.p99 !== null) this.set({ kind, quantile: '0.99' }, row.p99);
      }
    },
  });

  new Gauge({
    name: 'latchkey_verify_cache_hit_ratio',
    help: 'Share of verifications whose state came from Redis (the rest read Postgres)',
    registers: [registry],
    async collect() {
      const { values } = await deps.metrics.verifyOutcomes.get();
      let hits = 0;
      let total = 0;
      for (const v of values) {
        if (!v.labels.origin || v.labels.origin === 'none') continue;
        total += v.value;
        if (v.labels.origin === 'redis') hits += v.value;
      }
      this.set(total ? hits / total : 1);
    },
  });
}
