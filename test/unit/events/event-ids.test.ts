import { randomUUID } from 'node:crypto';
import { buildEvent } from '../../../shared/src/events/outbox';
import { parseEvent } from '../../../shared/src/events/schemas';

it('uuids are parsed to their lower-case form: one spelling per user, session and event', () => {
  const [userId, sessionId] = [randomUUID(), randomUUID()];
  const event = buildEvent({
    type: 'auth.login_succeeded',
    source: 'service:test',
    actor: { type: 'service', id: 'test' },
    data: { userId: userId.toUpperCase(), sessionId: sessionId.toUpperCase() },
  });
  const parsed = parseEvent({ ...event, id: event.id.toUpperCase(), data: { userId: userId.toUpperCase(), sessionId: sessionId.toUpperCase() } });
  expect(parsed.id).toBe(event.id.toLowerCase());
  expect(parsed.data).toEqual({ userId, sessionId });
});
