import pino, { type Logger } from 'pino';

/** Field paths that must never reach a log line, in any environment (G7). */
const REDACT = [
  'password', 'currentPassword', 'newPassword', 'token', 'accessToken', 'refreshToken', 'secret',
  'code', 'authorization', 'cookie', 'set-cookie', 'x-csrf-token',
  '*.password', '*.currentPassword', '*.newPassword', '*.token', '*.accessToken', '*.refreshToken',
  '*.secret', '*.authorization', '*.cookie', '*["set-cookie"]', '*["x-csrf-token"]',
  'req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]',
];

export type { Logger };

/** One root logger per process; modules take `logger.child({ module })`. */
export function createLogger(options: { level: string; service: string; destination?: pino.DestinationStream }): Logger {
  return pino(
    {
      level: options.level,
      base: { service: options.service },
      redact: { paths: REDACT, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination,
  );
}
