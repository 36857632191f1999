import { buildEvent, insertOutboxEvent } from '../../../shared/src/events/outbox';
import type { SecurityEvent } from '../../../shared/src/events/schemas';
import type { MailTransport } from '../../../shared/src/mail/mailer';
import type { HandlerContext } from '../../../workers/src/handler';
import { processJob } from '../../../workers/src/process-event';
import { signIn } from '../../support/browser-session';
import type { Harness } from '../../support/harness';
import { jobOf, mailsTo, startHandlerRig } from './worker-harness';

/**
 * The user is told of a refresh-token reuse at least once, and once when nothing goes wrong. The
 * deliveries are the test's own (no BullMQ worker): a delivery whose mail transport never answers
 * stands for a worker killed in the middle of sending; the job's redelivery then comes by hand.
 */
let h: Harness;
let ctx: HandlerContext;
let close: () => Promise<void>;
beforeAll(async () => {
  ({ h, ctx, close } = await startHandlerRig());
});
afterAll(() => close());

async function reuseEvent(): Promise<{ event: SecurityEvent; email: string }> {
  const s = await signIn(h);
  const event = buildEvent({
    type: 'refresh_token.reused',
    source: 'service:test',
    actor: { type: 'service', id: 'test' },
    data: { sessionId: s.sessionId, userId: s.userId },
  });
  await h.deps.db.transaction((t) => insertOutboxEvent(h.deps.db, t, event));
  return { event, email: s.email };
}

const notices = async (email: string) => (await mailsTo(h, email)).filter((m) => m.kind === 'session_reuse_revoked');

/** A context whose transport takes the message and never answers; resolves `called` when it is asked. */
function dyingWhileSending(): { ctx: HandlerContext; called: Promise<void> } {
  let called!: () => void;
  const calledPromise = new Promise<void>((resolve) => (called = resolve));
  const mailer: MailTransport = {
    send: () => {
      called();
      return new Promise<void>(() => undefined);
    },
  };
  return { ctx: { ...ctx, mailer }, called: calledPromise };
}

it('a worker dying while it sends the notice: the redelivery sends it', async () => {
  const { event, email } = await reuseEvent();
  const dying = dyingWhileSending();
  void processJob(jobOf(event), dying.ctx);
  await dying.called;
  expect(await notices(email)).toHaveLength(0);

  expect(await processJob(jobOf(event), ctx)).toBe('duplicate');
  expect(await notices(email)).toHaveLength(1);
});

it('a failed send is retried by the redelivery; a redelivery after a sent notice sends nothing', async () => {
  const { event, email } = await reuseEvent();
  const failing: HandlerContext = { ...ctx, mailer: { send: () => Promise.reject(new Error('smtp down')) } };
  await expect(processJob(jobOf(event), failing)).rejects.toThrow('smtp down');
  expect(await notices(email)).toHaveLength(0);

  expect(await processJob(jobOf(event), ctx)).toBe('duplicate');
  expect(await processJob(jobOf(event), ctx)).toBe('duplicate');
  expect(await notices(email)).toHaveLength(1);
});
