import { once } from 'node:events';
import type { Response } from 'express';
import { QueryTypes } from 'sequelize';
import { auditBatches, csvHeader, formatRecord, type ExportFormat } from '../../../../../shared/src/audit/audit-export';
import { filtersToJson, type AuditFilters } from '../../../../../shared/src/audit/audit-filters';
import { buildEvent, insertOutboxEvent } from '../../../../../shared/src/events/outbox';
import type { ApiDeps } from '../../deps';
import type { RequestContext } from '../../http/request-context';
import { publishAfterCommit } from '../events/publish-after-commit';
import type { AuditReader } from './audit-access';

/** A session as an auditor sees it: read-only, with how it ended. */
export interface AuditedSession {
  id: string;
  organizationId: string | null;
  deviceName: string | null;
  userAgent: string | null;
  ip: string | null;
  createdAt: Date;
  lastUsedAt: Date;
  expiresAt: Date;
  revokedAt: Date | null;
  revokeReason: string | null;
}

/** The export and the auditor's view of sessions; reads go through shared/src/audit. */
/** Records per socket write during an export. */
const WRITE_SLICE = 100;

export class AuditService {
  constructor(private readonly deps: ApiDeps) {}

  /**
   * Records the export (an `audit.exported` event in the outbox, committed before the first byte,
   * so an export that is cut short is audited too), then streams every matching record. Each batch
   * is written as one chunk and the loop waits for `drain`, so memory stays at one batch however
   * many records there are; a client that goes away stops the reads.
   */
  async export(res: Response, reader: AuditReader, filters: AuditFilters, format: ExportFormat, ctx: RequestContext): Promise<void> {
    const event = buildEvent({
      type: 'audit.exported',
      source: 'api',
      actor: reader.actor,
      requestId: ctx.requestId,
      ip: ctx.ip,
      userAgent: ctx.userAgent,
      data: {
        format,
        ...(reader.organizationId ? { organizationId: reader.organizationId } : {}),
        ...(reader.userId ? { userId: reader.userId } : {}),
        filters: filtersToJson(filters),
      },
    });
    await this.deps.db.transaction((t) => insertOutboxEvent(this.deps.db, t, event));
    publishAfterCommit(this.deps, [event]);

    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    res.status(200);
    res.set({
      'Content-Type': format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
      'Content-Disposition': `attachment; filename="audit-logs-${stamp}.${format === 'csv' ? 'csv' : 'ndjson'}"`,
      'Cache-Control': 'no-store',
      'X-Audit-Export-Event': event.id,
    });
    let closed = false;
    res.on('close', () => {
      closed = true;
    });
    if (format === 'csv') res.write(csvHeader());
    try {
      for await (const batch of auditBatches(this.deps.db, filters)) {
        if (closed) return;
        // Written in slices of ~100 records (tens of KiB): small strings die young in V8's new
        // space, where a whole 1,000-record string would land in large-object space until a full GC.
        for (let i = 0; i < batch.length; i += WRITE_SLICE) {
          const chunk = batch.slice(i, i + WRITE_SLICE).map((r) => formatRecord(r, format)).join('');
          if (!res.write(chunk)) await once(res, 'drain');
          if (closed) return;
        }
      }
      res.end();
    } catch (err) {
      this.deps.logger.error({ err: String(err), requestId: ctx.requestId }, 'audit export failed');
      if (!res.headersSent) {
        // Nothing sent yet: the error handler answers with a problem+json instead of the stream.
        for (const header of ['Content-Type', 'Content-Disposition', 'X-Audit-Export-Event']) res.removeHeader(header);
        throw err;
      }
      // Headers are gone: the only honest signal left is a cut connection (no trailing success).
      res.destroy(err as Error);
    }
  }

  /** A user's sessions, newest first; a user-scoped reader sees only those in their organization. */
  async sessionsOf(reader: AuditReader, userId: string): Promise<AuditedSession[]> {
    const rows = await this.deps.db.query<Record<string, unknown>>(
      `SELECT id, organization_id, device_name, user_agent, ip, created_at, last_used_at,
         LEAST(expires_at, idle_expires_at) AS expires_at, revoked_at, revoke_reason
       FROM sessions WHERE user_id = :userId ${reader.organizationId ? 'AND organization_id = :org' : ''}
       ORDER BY created_at DESC LIMIT 200`,
      { type: QueryTypes.SELECT, replacements: { userId, org: reader.organizationId ?? null } },
    );
    return rows.map((r) => ({
      id: r.id as string,
      organizationId: (r.organization_id as string | null) ?? null,
      deviceName: (r.device_name as string | null) ?? null,
      userAgent: (r.user_agent as string | null) ?? null,
      ip: (r.ip as string | null) ?? null,
      createdAt: r.created_at as Date,
      lastUsedAt: r.last_used_at as Date,
      expiresAt: r.expires_at as Date,
      revokedAt: (r.revoked_at as Date | null) ?? null,
      revokeReason: (r.revoke_reason as string | null) ?? null,
    }));
  }
}
