import type { Request, RequestHandler, Response } from 'express';
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
    res.on('finish', () => end({ method: req.method, route: routeLabel(req, res), status: String(res.statusCode) }));
    next();
  };
}

/**
 * Notes the prefix a router is mounted at as a request enters it (mount it in front of the
 * router): when an error leaves a router, Express restores `req.baseUrl`, so by the time the
 * response finishes the prefix of the route that matched would be lost.
 */
export const routerPrefix: RequestHandler = (req, res, next) => {
  res.locals.routerPrefix = req.baseUrl;
  next();
};

/** `/v1/events/:id`, `/me` (not `/me/`), or `unmatched`. */
function routeLabel(req: Request, res: Response): string {
  const path: unknown = req.route?.path;
  if (typeof path !== 'string') return 'unmatched';
  const prefix = typeof res.locals.routerPrefix === 'string' ? res.locals.routerPrefix : req.baseUrl;
  return prefix && path === '/' ? prefix : `${prefix}${path}`;
}
