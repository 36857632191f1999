/**
 * Errors as the Latchkey API reports them (problem+json with a stable `code`), turned into one
 * error class the app can switch on.
 */

/** A refusal or failure from the Latchkey API, with the contract's stable `code`. */
export class LatchkeyError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
    readonly requestId?: string,
  ) {
    super(message);
    this.name = 'LatchkeyError';
  }
}

/** Codes after which the client refreshes once and retries (contract: "Client rule"). */
export const RETRY_CODES: ReadonlySet<string> = new Set(['token_expired', 'permissions_stale']);

/** Token refusals that end the session for this browser: the user has to sign in again. */
export const SESSION_ENDING_CODES: ReadonlySet<string> = new Set([
  'invalid_token',
  'token_version_stale',
  'session_revoked',
  'session_expired',
  'user_suspended',
  'organization_suspended',
  'membership_inactive',
  'refresh_token_invalid',
  'refresh_token_reused',
]);

/** Reads a problem+json body without consuming the caller's response. */
export async function readProblem(res: Response): Promise<LatchkeyError> {
  let body: { code?: unknown; title?: unknown; requestId?: unknown } = {};
  try {
    body = (await res.clone().json()) as typeof body;
  } catch {
    // Not JSON (a proxy's error page, say): fall back to the status line.
  }
  const code = typeof body.code === 'string' ? body.code : `http_${res.status}`;
  const title = typeof body.title === 'string' ? body.title : res.statusText || 'Request failed';
  return new LatchkeyError(code, res.status, title, typeof body.requestId === 'string' ? body.requestId : undefined);
}
