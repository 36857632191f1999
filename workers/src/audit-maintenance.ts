import type { Config } from '../../shared/src/config/load-config';
import { applyAuditRetention, ensureAuditPartitions } from '../../shared/src/audit/audit-partitions';
import type { Logger } from '../../shared/src/logging/logger';
import type { Sequelize } from 'sequelize';

/** How often the worker looks after audit partitions (creation ahead, retention). */
export const AUDIT_MAINTENANCE_INTERVAL_MS = 60 * 60 * 1000;

/**
 * The audit log's periodic job: creates the monthly partitions of this month and the next three
 * (so writes never land in the default partition), then applies AUDIT_RETENTION_MONTHS by dropping
 * whole old partitions (anchored, see audit-partitions.ts). Safe to run from several workers: the
 * retention holds the chain lock and partition creation is `IF NOT EXISTS`.
 */
export async function runAuditMaintenance(db: Sequelize, config: Config, logger: Logger, now = new Date()): Promise<void> {
  const { created, skipped } = await ensureAuditPartitions(db, now, 3);
  if (created.length) logger.info({ created }, 'audit partitions created');
  if (skipped.length) logger.warn({ skipped }, 'audit partitions not created: rows for those months sit in the default partition');
  const retention = await applyAuditRetention(db, config.audit.retentionMonths, now);
  if (retention.dropped.length) logger.info({ dropped: retention.dropped }, 'audit retention dropped partitions');
  if (retention.stoppedAt) logger.error({ partition: retention.stoppedAt }, 'audit retention stopped: the cut would not be a prefix of the chain');
}
