/** Postgres aborted the transaction to break a deadlock, or to keep it serializable. */
const RETRYABLE = new Set(['40P01', '40001']);

function isRetryable(err: unknown, depth = 0): boolean {
  if (!err || typeof err !== 'object' || depth > 3) return false;
  const e = err as { code?: unknown; parent?: unknown; original?: unknown };
  if (typeof e.code === 'string' && RETRYABLE.has(e.code)) return true;
  return [e.parent, e.original].some((inner) => inner !== err && isRetryable(inner, depth + 1));
}

/**
 * Runs `work` (a transaction, or one statement) again when Postgres aborted it to break a deadlock
 * or a serialization conflict: the whole of it was rolled back, so running it again is safe, and
 * the caller gets an answer instead of a 500. Requests that lock a session and its refresh tokens
 * in different orders (a password change racing a tab's refresh) can meet that way.
 */
export async function retryingDeadlocks<T>(work: () => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (err) {
      if (attempt >= attempts || !isRetryable(err)) throw err;
    }
  }
}
