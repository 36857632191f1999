import express, { type RequestHandler } from 'express';
import { AppError } from '../../../../shared/src/errors/app-error';
import { isStorableText } from '../../../../shared/src/validation/storable';

/** Every key and string of a body must be text Postgres can store; anything else is a parse failure (400). */
function storableOnly(key: string, value: unknown): unknown {
  if (!isStorableText(key) || (typeof value === 'string' && !isStorableText(value))) {
    throw new SyntaxError('a string holds a NUL character or a lone surrogate');
  }
  return value;
}

/**
 * Bodies are JSON only, up to `limit`: a body with another content type is refused with 415 before
 * parsing; a bodiless request (no content) passes with `{}`. A string Postgres could not store
 * (NUL, lone surrogate) fails the parse: 400 validation_failed.
 */
export function jsonBodyUpTo(limit: string): RequestHandler {
  const parseJson = express.json({ limit, strict: true, type: () => true, reviver: storableOnly });
  return (req, res, next) => {
    const length = Number(req.get('content-length') ?? 0);
    const hasBody = length > 0 || req.get('transfer-encoding') !== undefined;
    if (!hasBody) {
      req.body = {};
      return next();
    }
    if (!req.is('application/json') && !req.is('application/*+json')) return next(new AppError('unsupported_media_type'));
    parseJson(req, res, next);
  };
}

/** The contract's default: 16 KiB. */
export const jsonBody = jsonBodyUpTo('16kb');
