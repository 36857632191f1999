import { eventChainAppender } from '../../../workers/src/event-rows';
import { QueryTypes } from 'sequelize';
import { randomUUID } from 'node:crypto';
import { buildEvent } from '../../../shared/src/events/outbox';
import { parseEvent, type EventOf, type EventType } from '../../../shared/src/events/schemas';
import { StateSync } from '../../../shared/src/verify/state-sync';
import { createServiceClient, type ServiceScope } from '../../../shared/src/security/service-credentials';
import type { EventHandler, HandlerContext } from '../../../workers/src/handler';
import { membershipRemoved } from '../../../workers/src/handlers/membership-removed';
import { membershipRoleChanged } from '../../../workers/src/handlers/membership-role-changed';
import { organizationPermissionsChanged } from '../../../workers/src/handlers/organization-permissions-changed';
import { organizationReinstated } from '../../../workers/src/handlers/organization-reinstated';
import { organizationSuspended } from '../../../workers/src/handlers/organization-suspended';
import { signIn, type BrowserSession } from '../../support/browser-session';
import type { Harness } from '../../support/harness';

/** A service credential with the given scopes (created straight in the database, as the CLI does). */
export async function serviceCredential(scopes: ServiceScope[]): Promise<string> {
  const { credential } = await createServiceClient(`test-${randomUUID().slice(0, 8)}`, scopes);
  return credential;
}

export async function createOrganization(h: Harness, credential: string, name = 'Acme'): Promise<string> {
  const res = await h.http.post('/v1/organizations').set('Authorization', `Bearer ${credential}`).send({ name });
  if (res.status !== 201) throw new Error(`create organization: ${res.status} ${res.text}`);
  return res.body.id;
}

export async function addMember(h: Harness, credential: string, organizationId: string, userId: string, role: string): Promise<string> {
  const res = await h.http
    .post(`/v1/organizations/${organizationId}/members`)
    .set('Authorization', `Bearer ${credential}`)
    .send({ userId, role });
  if (res.status !== 201) throw new Error(`add member: ${res.status} ${res.text}`);
  return res.body.membershipId;
}

/** A user who is a member of `organizationId` with `role`, signed in into that organization. */
export async function memberSignedIn(h: Harness, credential: string, organizationId: string, role: string): Promise<BrowserSession> {
  const plain = await signIn(h);
  await addMember(h, credential, organizationId, plain.userId, role);
  return signIn(h, { email: plain.email, organizationId });
}

const HANDLERS: { [T in EventType]?: EventHandler<T> } = {
  'membership.role_changed': membershipRoleChanged,
  'membership.removed': membershipRemoved,
  'organization.suspended': organizationSuspended,
  'organization.reinstated': organizationReinstated,
  'organization.permissions_changed': organizationPermissionsChanged,
};

export function handlerContext(h: Harness): HandlerContext {
  const { deps } = h;
  return {
    config: deps.config,
    db: deps.db,
    redis: deps.redis,
    keys: deps.keys,
    cache: deps.stateCache,
    stateSync: new StateSync(deps.db, deps.stateCache),
    revocations: deps.revocations,
    mailer: deps.mailer,
    logger: deps.logger,
    auditChain: eventChainAppender(deps.db),
  };
}

/**
 * Runs one event's handler as the worker framework does (apply in a transaction, sync after commit),
 * for the handler-level tests; the end-to-end tests go through the real worker.
 */
export async function applyEvent<T extends EventType>(h: Harness, type: T, data: EventOf<T>['data']): Promise<void> {
  const handler = HANDLERS[type] as EventHandler<T> | undefined;
  if (!handler) throw new Error(`no handler for ${type}`);
  const event = buildEvent({ type, source: 'test', actor: { type: 'system', id: 'test' }, data } as never) as EventOf<T>;
  const ctx = handlerContext(h);
  await h.deps.db.transaction((t) => handler.apply(event, t, ctx));
  await handler.sync(event, ctx);
}

/** Runs the handler of an event the API wrote to the outbox, from its stored row. */
export async function applyStoredEvent(h: Harness, eventId: string): Promise<void> {
  const [row] = await h.deps.db.query<{ type: EventType; data: unknown; occurred_at: Date; source: string; actor_type: string; actor_id: string }>(
    'SELECT type, data, occurred_at, source, actor_type, actor_id FROM events WHERE id = :eventId',
    { type: QueryTypes.SELECT, replacements: { eventId } },
  );
  if (!row) throw new Error(`no event ${eventId}`);
  const event = parseEvent({
    id: eventId,
    type: row.type,
    version: 1,
    occurredAt: row.occurred_at.toISOString(),
    source: row.source,
    actor: { type: row.actor_type, id: row.actor_id },
    data: row.data,
  });
  const handler = HANDLERS[event.type] as EventHandler<EventType> | undefined;
  if (!handler) throw new Error(`no handler for ${event.type}`);
  const ctx = handlerContext(h);
  await h.deps.db.transaction((t) => handler.apply(event as never, t, ctx));
  await handler.sync(event as never, ctx);
}

export const bearer = (token: string) => `Bearer ${token}`;
