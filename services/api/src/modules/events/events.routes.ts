import express, { Router, type RequestHandler } from 'express';
import { Gauge } from 'prom-client';
import { QueryTypes } from 'sequelize';
import { AppError } from '../../../../../shared/src/errors/app-error';
import type { ApiDeps } from '../../deps';
import { requireServiceScope } from '../../http/authenticate-service';
import { parse } from '../../http/validate';
import { eventIdParams, postEventsBody } from './events.schemas';
import { EventsService } from './events.service';

/** A batch of 100 events may exceed the default 16 KiB; this route accepts up to 256 KiB of JSON. */
const parseBatch = express.json({ limit: '256kb', strict: true, type: () => true });
const batchBody: RequestHandler = (req, res, next) => {
  if (!req.is('application/json') && !req.is('application/*+json')) return next(new AppError('unsupported_media_type'));
  parseBatch(req, res, next);
};

/** `/v1/events`: product backends send security events (scope `events:write`) and follow them. */
export function eventsRoutes(deps: ApiDeps): Router {
  const router = Router();
  const events = new EventsService(deps);
  registerOutboxGauges(deps);
  router.use(requireServiceScope('events:write'));

  router.post('/', batchBody, async (req, res) => {
    const body = parse(postEventsBody, req.body);
    const inputs = 'events' in body ? body.events : [body];
    const eventIds = await events.accept(req.service!, inputs, req.id);
    res.status(202).json({ eventIds });
  });

  router.get('/:id', async (req, res) => {
    const parsed = eventIdParams.safeParse(req.params);
    if (!parsed.success) throw new AppError('not_found');
    res.setHeader('Cache-Control', 'no-store');
    res.json(await events.status(req.service!, parsed.data.id));
  });
  return router;
}

/**
 * Outbox depth and the age of its oldest pending event on the API's /metrics, read from Postgres
 * at scrape time: the event processing lag as operators see it, whichever worker is (not) running.
 * The workers' own histograms (processing and revocation lag) are on their /metrics.
 */
function registerOutboxGauges(deps: ApiDeps): void {
  const { registry } = deps.metrics;
  if (registry.getSingleMetric('latchkey_outbox_pending_events')) return;
  const read = async () => {
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
      this.set((await read().catch(() => ({ pending: -1 }))).pending);
    },
  });
  new Gauge({
    name: 'latchkey_outbox_oldest_pending_seconds',
    help: 'Age of the oldest unprocessed security event (event processing lag as seen from the outbox)',
    registers: [registry],
    async collect() {
      this.set((await read().catch(() => ({ oldest: -1 }))).oldest);
    },
  });
}
