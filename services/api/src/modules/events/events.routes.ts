import { Router } from 'express';
import { AppError } from '../../../../../shared/src/errors/app-error';
import type { ApiDeps } from '../../deps';
import { requireServiceScope } from '../../http/authenticate-service';
import { jsonBodyUpTo } from '../../http/json-body';
import { parse } from '../../http/validate';
import { eventIdParams, postEventsBody } from './events.schemas';
import { EventsService } from './events.service';

/** A batch of 100 events may exceed the default 16 KiB; this route accepts up to 256 KiB of JSON. */
const batchBody = jsonBodyUpTo('256kb');

/** `/v1/events`: product backends send security events (scope `events:write`) and follow them. */
export function eventsRoutes(deps: ApiDeps): Router {
  const router = Router();
  const events = new EventsService(deps);
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

