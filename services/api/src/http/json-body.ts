import express, { type RequestHandler } from 'express';
import { AppError } from '../../../../shared/src/errors/app-error';

const parseJson = express.json({ limit: '16kb', strict: true, type: () => true });

/**
 * Bodies are JSON only: a body with another content type is refused with 415 before parsing;
 * a bodiless request (no content) passes with `{}`.
 */
export const jsonBody: RequestHandler = (req, res, next) => {
  const length = Number(req.get('content-length') ?? 0);
  const hasBody = length > 0 || req.get('transfer-encoding') !== undefined;
  if (!hasBody) {
    req.body = {};
    return next();
  }
  if (!req.is('application/json') && !req.is('application/*+json')) return next(new AppError('unsupported_media_type'));
  parseJson(req, res, next);
};
