import { KEY_TTL } from '../../shared/src/redis/keys';
import type { MailMessage } from '../../shared/src/mail/mailer';
import type { HandlerContext } from './handler';

/**
 * Sends a notice for an event at least once, and once when nothing goes wrong. A Redis marker per
 * event id is set only after the transport took the message: a delivery that dies before that (a
 * killed worker, a failed send) leaves none, and the job's redelivery (`sync` runs on every
 * delivery) sends it; a redelivery after a sent notice finds the marker and sends nothing. (Set
 * before sending, a crash in between lost the notice for good.) A second copy is possible only
 * when a delivery dies between the send and the marker, or when two deliveries of one event
 * sync at the very same moment: for a security notice, twice is better than never.
 */
export async function sendNoticeOnce(ctx: HandlerContext, eventId: string, message: MailMessage): Promise<boolean> {
  const key = ctx.keys.noticeSent(eventId);
  if ((await ctx.redis.exists(key)) === 1) return false;
  await ctx.mailer.send(message);
  // The message is out: failing the job over the marker would only send it again.
  await ctx.redis.set(key, '1', 'EX', KEY_TTL.noticeSent).catch((err: unknown) => {
    ctx.logger.warn({ eventId, err: String(err) }, 'notice sent, but its marker was not written; a redelivery would send it again');
  });
  return true;
}
