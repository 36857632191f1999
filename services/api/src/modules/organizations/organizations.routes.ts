import { Router } from 'express';
import type { ApiDeps } from '../../deps';
import { requireServiceScope } from '../../http/authenticate-service';
import { jsonBody } from '../../http/json-body';
import { contextOf } from '../../http/request-context';
import { parse } from '../../http/validate';
import { organizationAccess } from './organization-access';
import { addMemberBody, createOrganizationBody, listMembersQuery, organizationParams, putRoleBody, roleParams } from './organizations.schemas';
import { OrganizationsService } from './organizations.service';

/**
 * `/v1/organizations`: product backends manage tenants with a service credential; a member whose
 * role grants `members:manage` may also manage the members and roles of their own organization.
 */
export function organizationsRoutes(deps: ApiDeps): Router {
  const router = Router();
  const service = new OrganizationsService(deps);

  router.post('/', requireServiceScope('organizations:write'), jsonBody, async (req, res) => {
    const body = parse(createOrganizationBody, req.body);
    const org = await service.create(body);
    res.status(201).json({ id: org.id, name: org.name, slug: org.slug, status: org.status });
  });

  router.post('/:id/members', organizationAccess(deps, 'organizations:write', ['members:manage']), jsonBody, async (req, res) => {
    const { id } = parse(organizationParams, req.params);
    const body = parse(addMemberBody, req.body);
    res.status(201).json(await service.addMember(req.organizationActor!, id, body));
  });

  router.get('/:id/members', organizationAccess(deps, 'organizations:read', ['members:read', 'members:manage']), async (req, res) => {
    const { id } = parse(organizationParams, req.params);
    const query = parse(listMembersQuery, req.query);
    res.setHeader('Cache-Control', 'no-store');
    res.json(await service.listMembers(id, query));
  });

  router.put('/:id/roles/:role', organizationAccess(deps, 'organizations:write', ['members:manage']), jsonBody, async (req, res) => {
    const { id, role } = parse(roleParams, req.params);
    const { permissions } = parse(putRoleBody, req.body);
    const result = await service.putRole(req.organizationActor!, id, role, permissions, contextOf(req));
    res.status(result.created ? 201 : 200).json({
      organizationId: result.organizationId,
      role: result.role,
      permissions: result.permissions,
      membersAffected: result.membersAffected,
      eventId: result.eventId,
    });
  });

  return router;
}
