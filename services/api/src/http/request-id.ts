import type { RequestHandler } from 'express';
import { requestIdOf } from '../../../../shared/src/errors/problem';

/** Takes a well-formed `X-Request-Id` from the caller or makes one; echoes it on every response. */
export const requestId: RequestHandler = (req, res, next) => {
  req.id = requestIdOf(req.get('x-request-id'));
  res.setHeader('X-Request-Id', req.id);
  next();
};
