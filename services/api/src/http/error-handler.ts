import type { ErrorRequestHandler, RequestHandler } from 'express';
import { ZodError } from 'zod';
import { AppError, isAppError } from '../../../../shared/src/errors/app-error';
import type { ErrorCode } from '../../../../shared/src/errors/codes';
import { isDependencyUnavailable } from '../../../../shared/src/errors/unavailable';
import type { Logger } from '../../../../shared/src/logging/logger';
import { sendProblem } from '../../../../shared/src/errors/problem';

/** Maps body-parser and other framework errors to contract codes. */
function frameworkCode(err: { type?: string; status?: number; code?: string }): ErrorCode | undefined {
  if (err.type === 'entity.too.large') return 'payload_too_large';
  if (err.type === 'entity.parse.failed') return 'validation_failed';
  // A charset or content encoding the API does not read (body-parser's 415s) is a media type problem.
  if (err.type === 'encoding.unsupported' || err.type === 'charset.unsupported') return 'unsupported_media_type';
  if (err.code === 'EBADCSRFTOKEN') return 'csrf_invalid';
  if (err.status === 415) return 'unsupported_media_type';
  if (err.status === 400) return 'validation_failed';
  return undefined;
}

/** The one place errors become responses: a problem+json with a stable code, never a stack. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const requestId = req.id;
    if (isAppError(err)) {
      if (err.status >= 500) logger.error({ err, requestId, code: err.code, detail: err.detail }, 'request failed');
      else if (err.detail) logger.debug({ requestId, code: err.code, detail: err.detail }, 'request refused');
      sendProblem(res, err.code, { requestId, message: err.message, detail: err.publicDetail, retryAfter: err.retryAfter, bearer: req.auth !== undefined });
      return;
    }
    // Postgres or Redis down where the route needs it: a clear 503, never a 500 (R4).
    if (isDependencyUnavailable(err)) {
      logger.warn({ requestId, err: String(err) }, 'dependency unavailable');
      sendProblem(res, 'service_unavailable', { requestId });
      return;
    }
    // A value built from the request that an inner schema refused (an event field, say): the
    // request's fault, answered as such; logged, as the route's own validation should have caught it.
    if (err instanceof ZodError) {
      logger.warn({ requestId, issues: err.issues.map((i) => ({ path: i.path, code: i.code })) }, 'input refused by an inner schema');
      sendProblem(res, 'validation_failed', { requestId });
      return;
    }
    const code = frameworkCode(err ?? {});
    if (code) {
      sendProblem(res, code, { requestId });
      return;
    }
    logger.error({ err, requestId }, 'unexpected error');
    sendProblem(res, 'internal_error', { requestId });
  };
}

/** 404 for every route nobody claimed. */
export const notFound: RequestHandler = (_req, _res, next) => next(new AppError('not_found'));
