import type { z } from 'zod';
import { AppError } from '../../../../shared/src/errors/app-error';

/** Parses a request part with a zod schema; failures become 400 validation_failed naming the fields. */
export function parse<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input ?? {});
  if (result.success) return result.data;
  const fields = [...new Set(result.error.issues.map((i) => i.path.join('.') || '(body)'))];
  throw new AppError('validation_failed', { publicDetail: `Invalid or missing: ${fields.join(', ')}` });
}
