import { appendFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../logging/logger';

/** The kinds of message Latchkey sends. */
export type MailKind =
  | 'email_verification'
  | 'registration_attempt'
  | 'password_reset'
  | 'password_changed'
  | 'session_reuse_revoked';

export interface MailMessage {
  to: string;
  kind: MailKind;
  subject: string;
  text: string;
  link?: string;
}

/** Outgoing mail; production plugs in an SMTP or API transport behind this interface. */
export interface MailTransport {
  send(message: MailMessage): Promise<void>;
}

/** Development transport: one JSON line per message, so a developer or a test can follow links. */
export class FileMailTransport implements MailTransport {
  constructor(private readonly file: string) {}
  async send(message: MailMessage): Promise<void> {
    await mkdir(path.dirname(path.resolve(this.file)), { recursive: true });
    await appendFile(this.file, `${JSON.stringify({ to: message.to, kind: message.kind, subject: message.subject, text: message.text, link: message.link ?? null })}\n`);
  }
}

/** Logs that a message would be sent, without its link (links carry secrets). */
export class LogMailTransport implements MailTransport {
  constructor(private readonly logger: Logger) {}
  async send(message: MailMessage): Promise<void> {
    this.logger.info({ kind: message.kind }, 'mail not delivered: no transport configured');
  }
}

export function createMailTransport(config: { transport: 'file' | 'log' | 'none'; outboxFile: string }, logger: Logger): MailTransport {
  if (config.transport === 'file') return new FileMailTransport(config.outboxFile);
  if (config.transport === 'log') return new LogMailTransport(logger);
  return { send: async () => undefined };
}
