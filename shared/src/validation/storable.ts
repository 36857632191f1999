import { z } from 'zod';

/**
 * Input values Postgres can store and read back unchanged. The checks of this file run where a
 * value enters (request schemas, the event envelope), so a value Postgres would refuse is a 400
 * `validation_failed` at the door, never a 500 later, and never a stored row that a worker or the
 * audit chain cannot serialise again.
 */

/** A uuid in any form Postgres's `uuid` type takes (any version, as z.guid() checks). */
export const isUuid = (value: unknown): value is string => z.guid().safeParse(value).success;

/** The largest value of a Postgres `bigint` (audit record ids). */
const BIGINT_MAX = 9223372036854775807n;

/** A positive `bigint` row id written as decimal text: 1 to 2^63 − 1. */
export function isBigintId(text: string): boolean {
  return /^[1-9][0-9]{0,18}$/.test(text) && BigInt(text) <= BIGINT_MAX;
}

export const bigintId = z.string().refine(isBigintId, 'must be a positive 64-bit integer');

/**
 * An instant written with its offset, read back as UTC (`toISOString`). Years 1 to 9999 only, in
 * UTC: an offset can carry 9999-12-31 into year 10000, which `toISOString` writes as `+010000-…`
 * and Postgres refuses, and year 0 does not exist for Postgres.
 */
export const instant = z.iso
  .datetime({ offset: true })
  .refine((text) => {
    const year = new Date(text).getUTCFullYear();
    return year >= 1 && year <= 9999;
  }, 'must be between the years 1 and 9999 (UTC)')
  .transform((text) => new Date(text).toISOString());

/** Text Postgres stores as it was given: no NUL character and no lone UTF-16 surrogate. */
export function isStorableText(text: string): boolean {
  return !text.includes('\u0000') && (text as string & { isWellFormed(): boolean }).isWellFormed();
}

/** A string schema for text that reaches Postgres. */
export const storableText = z.string().refine(isStorableText, 'must not hold a NUL character or a lone surrogate');
