import { Router } from 'express';
import { findAuditRecord, queryAuditLogs } from '../../../../../shared/src/audit/audit-query';
import { verifyAuditChain } from '../../../../../shared/src/audit/audit-verify';
import { AppError } from '../../../../../shared/src/errors/app-error';
import type { ApiDeps } from '../../deps';
import { contextOf } from '../../http/request-context';
import { parse } from '../../http/validate';
import { requireAuditReader, scopedOrganization } from './audit-access';
import { exportQuery, filtersOf, listQuery, recordParams, userParams, verifyQuery } from './audit.schemas';
import { AuditService } from './audit.service';

/**
 * `/v1/audit-logs`: the security team's read-only view of the audit log (contract section 3).
 * Every route takes a service credential with `audit:read` (all organizations) or a user token
 * granting `audit:read` (its organization only).
 */
export function auditRoutes(deps: ApiDeps): Router {
  const router = Router();
  const audit = new AuditService(deps);
  router.use(requireAuditReader(deps), (_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    next();
  });

  router.get('/', async (req, res) => {
    const q = parse(listQuery, req.query);
    const filters = { ...filtersOf(q), organizationId: scopedOrganization(req.auditReader!, q.organizationId) };
    res.json(await queryAuditLogs(deps.db, filters, { limit: q.limit, cursor: q.cursor }));
  });

  router.get('/export', async (req, res) => {
    const q = parse(exportQuery, req.query);
    const filters = { ...filtersOf(q), organizationId: scopedOrganization(req.auditReader!, q.organizationId) };
    await audit.export(res, req.auditReader!, filters, q.format, contextOf(req));
  });

  // The chain is global (one chain for every organization), so its status is the same for every
  // reader; it reveals counts and ids, never another organization's records.
  router.get('/verify', async (req, res) => {
    const q = parse(verifyQuery, req.query);
    res.json(await verifyAuditChain(deps.db, { fromId: q.fromId, toId: q.toId }));
  });

  router.get('/users/:userId/sessions', async (req, res) => {
    const { userId } = parse(userParams, req.params);
    res.json({ sessions: await audit.sessionsOf(req.auditReader!, userId) });
  });

  router.get('/:id', async (req, res) => {
    const { id } = parse(recordParams, req.params);
    const record = await findAuditRecord(deps.db, id, { organizationId: req.auditReader!.organizationId });
    if (!record) throw new AppError('not_found');
    res.json(record);
  });
  return router;
}
