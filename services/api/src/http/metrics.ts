import type { RequestHandler } from 'express';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The API's Prometheus metrics, on a registry of its own (tests create many apps). */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const verifyOutcomes = new Counter({
    name: 'latchkey_verify_outcomes_total',
    help: 'Access-token verification outcomes by code and by where the state came from',
    labelNames: ['code', 'origin'] as const,
    registers: [registry],
  });
  // Labelled children resolved once per (code, origin): this runs on every verified request.
  const outcomeChildren = new Map<string, { inc(): void }>();
  return {
    registry,
    requestDuration: new Histogram({
      name: 'latchkey_http_request_duration_seconds',
      help: 'HTTP request latency by route',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    verifyOutcomes,
    countVerifyOutcome(code: string, origin: string): void {
      const id = `${code}|${origin}`;
      let child = outcomeChildren.get(id);
      if (!child) outcomeChildren.set(id, (child = verifyOutcomes.labels(code, origin)));
      child.inc();
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/** Times each request, labelled by the matched route pattern (never the raw URL). */
export function requestTimer(metrics: Metrics): RequestHandler {
  return (req, res, next) => {
    const end = metrics.requestDuration.startTimer();
    res.on('finish', () => {
      const route = req.route?.path ? `${req.baseUrl}${req.route.path}` : 'unmatched';
      end({ method: req.method, route, status: String(res.statusCode) });
    });
    next();
  };
}
