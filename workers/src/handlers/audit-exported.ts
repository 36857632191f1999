import type { EventHandler } from '../handler';

/**
 * `audit.exported`: someone exported the audit log. Nothing to change in Postgres or Redis; the
 * event exists so that the export itself leaves one audit record (who, which filters, which format),
 * written through the outbox like every other event.
 */
export const auditExported: EventHandler<'audit.exported'> = {
  async apply(event) {
    const { format, organizationId, userId, filters } = event.data;
    return { severity: 'info', userId: userId ?? null, organizationId: organizationId ?? null, details: { format, filters } };
  },
  async sync() {},
};
