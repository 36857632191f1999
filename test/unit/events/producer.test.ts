import { randomUUID } from 'node:crypto';
import { AppError } from '../../../shared/src/errors/app-error';
import { buildEvent } from '../../../shared/src/events/outbox';
import { validateEvents } from '../../../shared/src/events/producer';

const valid = () => buildEvent({ type: 'user.suspended', source: 'service:test', actor: { type: 'service', id: 'test' }, data: { userId: randomUUID() } });

it('passes valid events through, parsed', () => {
  const event = valid();
  expect(validateEvents([{ ...event, id: event.id.toUpperCase() }])).toEqual([event]);
});

it('an invalid event is validation_failed naming the event, its paths and issue codes, never a value', () => {
  const secret = 'hunter2-super-secret';
  const bad = { ...valid(), data: { userId: secret, password: secret } };
  const unknownType = { ...valid(), type: 'user.vanished', token: secret };
  let thrown: unknown;
  try {
    validateEvents([valid(), bad, unknownType]);
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(AppError);
  const err = thrown as AppError;
  expect(err).toMatchObject({ code: 'validation_failed', status: 400 });
  expect(err.publicDetail).toBe('Invalid security event: event 1: data.userId (invalid_format), data (unrecognized_keys); event 2: type (invalid_union)');
  expect(JSON.stringify({ ...err, message: err.message, detail: err.detail, publicDetail: err.publicDetail })).not.toContain('hunter2');
});

it('a value that is not an event at all, and long lists, stay short', () => {
  const many = Array.from({ length: 8 }, () => 'not an event');
  expect(() => validateEvents(many)).toThrow(
    expect.objectContaining({
      code: 'validation_failed',
      publicDetail: expect.stringMatching(/^Invalid security event: event 0: \(event\) \(invalid_type\);.*event 4: .*; and 3 more invalid events$/),
    }),
  );
});
