import { ERROR_CODES, type ErrorCode } from './codes';

/**
 * The one error type domain code throws. `message` is public; `detail` is for logs only.
 * `publicDetail` is a safe, user-facing explanation (e.g. which field failed validation).
 */
export class AppError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    options: { message?: string; detail?: string; publicDetail?: string; retryAfter?: number; cause?: unknown } = {},
  ) {
    super(options.message ?? ERROR_CODES[code].title, { cause: options.cause });
    this.name = 'AppError';
    this.status = ERROR_CODES[code].status;
    this.detail = options.detail;
    this.publicDetail = options.publicDetail;
    this.retryAfter = options.retryAfter;
  }
  readonly detail?: string;
  readonly publicDetail?: string;
  readonly retryAfter?: number;
}

/** Shorthand for the error thrown when a dependency (Postgres, Redis) cannot answer. */
export function unavailable(detail: string, cause?: unknown): AppError {
  return new AppError('service_unavailable', { detail, cause });
}

export function isAppError(err: unknown): err is AppError {
  return err instanceof AppError;
}
