import { ConnectionAcquireTimeoutError, ConnectionError, TimeoutError } from 'sequelize';

/** Socket-level codes of a dependency that is down or unreachable (Node, pg, ioredis). */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/** Messages pg and ioredis use for a connection lost or not open (they carry no code). */
const LOST_CONNECTION =
  /Connection terminated|connection error and is not queryable|Client was closed|Connection is closed|Stream isn't writeable|Reached the max retries per request|Command timed out|timeout exceeded when trying to connect/i;

/**
 * True when an error means Postgres or Redis cannot answer right now (refused, reset, timed out,
 * pool exhausted), as opposed to a bug. The API answers those with 503 `service_unavailable`
 * (R4), never 500 and never acceptance. Looks through `cause`, `original` and `parent`, where
 * Sequelize and AppError keep the underlying error.
 */
export function isDependencyUnavailable(err: unknown, depth = 0): boolean {
  if (!err || typeof err !== 'object' || depth > 5) return false;
  if (err instanceof ConnectionError || err instanceof ConnectionAcquireTimeoutError || err instanceof TimeoutError) return true;
  const e = err as { code?: unknown; message?: unknown; name?: unknown; cause?: unknown; original?: unknown; parent?: unknown };
  if (typeof e.code === 'string' && (NETWORK_CODES.has(e.code) || /^(08|57P0)/.test(e.code))) return true;
  if (e.name === 'MaxRetriesPerRequestError') return true;
  if (typeof e.message === 'string' && LOST_CONNECTION.test(e.message)) return true;
  return [e.cause, e.original, e.parent].some((inner) => inner !== err && isDependencyUnavailable(inner, depth + 1));
}
