import { z } from 'zod';
import { AUDIT_DEFAULT_LIMIT, AUDIT_MAX_LIMIT } from '../../../../../shared/src/audit/audit-query';
import { TYPE_FORM, type AuditFilters } from '../../../../../shared/src/audit/audit-filters';
import { bigintId, instant } from '../../../../../shared/src/validation/storable';

const time = instant.transform((v) => new Date(v));
const id = bigintId;

/** The filters shared by the list and the export (query string). */
export const filtersQuery = z.object({
  organizationId: z.guid().optional(),
  userId: z.guid().optional(),
  sessionId: z.guid().optional(),
  type: z.string().max(100).regex(TYPE_FORM).optional(),
  severity: z.enum(['info', 'warning', 'critical']).optional(),
  from: time.optional(),
  to: time.optional(),
});

export const listQuery = filtersQuery.extend({
  limit: z.coerce.number().int().min(1).max(AUDIT_MAX_LIMIT).default(AUDIT_DEFAULT_LIMIT),
  cursor: z.string().min(1).max(200).optional(),
});

export const exportQuery = filtersQuery.extend({ format: z.enum(['ndjson', 'csv']).default('ndjson') });

export const verifyQuery = z.object({ fromId: id.optional(), toId: id.optional() });

export const recordParams = z.object({ id });
export const userParams = z.object({ userId: z.guid() });

/** Picks the filter fields out of a parsed query. */
export function filtersOf(q: z.output<typeof filtersQuery>): AuditFilters {
  return {
    organizationId: q.organizationId,
    userId: q.userId,
    sessionId: q.sessionId,
    type: q.type,
    severity: q.severity,
    from: q.from,
    to: q.to,
  };
}
