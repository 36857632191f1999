import type { RequestHandler } from 'express';
import { AppError } from '../../../../shared/src/errors/app-error';

/**
 * A path or query value that decodes to a NUL character is refused at the door (400): no route
 * takes one, and Postgres cannot store or compare it. Other undecodable escapes are each route's
 * own validation, as they decode to U+FFFD or stay as written.
 */
export const storableUrl: RequestHandler = (req, _res, next) => {
  if (/%00/.test(req.url)) return next(new AppError('validation_failed', { publicDetail: 'The URL holds an encoded NUL character.' }));
  next();
};
