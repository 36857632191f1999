import { KEY_TTL } from '../../shared/src/redis/keys';
import type { MailMessage } from '../../shared/src/mail/mailer';
import type { HandlerContext } from './handler';

/**
 * Sends a notice for an event at most once per event id (a Redis marker set before sending and
 * removed if sending fails, so a failed send is retried with the job and a redelivery after a
 * successful send does not mail the user twice).
 */
export async function sendNoticeOnce(ctx: HandlerContext, eventId: string, message: MailMessage): Promise<boolean> {
  const key = ctx.keys.noticeSent(eventId);
  const first = await ctx.redis.set(key, '1', 'EX', KEY_TTL.noticeSent, 'NX');
  if (first !== 'OK') return false;
  try {
    await ctx.mailer.send(message);
    return true;
  } catch (err) {
    await ctx.redis.del(key).catch(() => undefined);
    throw err;
  }
}
