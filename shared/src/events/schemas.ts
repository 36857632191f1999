import { z } from 'zod';
import { instant, storableText } from '../validation/storable';

/**
 * A uuid in its canonical lower-case form. Postgres stores uuids that way, and Redis keys, claims
 * and audit hashes are built from these strings: an id accepted in upper case must not give a
 * second spelling of the same user or event (an audit record hashed with one spelling and stored
 * with the other would fail the chain's verification).
 */
const uuid = z.guid().transform((id) => id.toLowerCase());
const reason = storableText.min(1).max(500);

/** The `data` schema of every security event type of the contract (section 4). */
export const EVENT_DATA = {
  'user.password_changed': z.strictObject({ userId: uuid, keepSessionId: uuid.optional() }),
  'user.logged_out_all': z.strictObject({ userId: uuid }),
  'user.suspended': z.strictObject({ userId: uuid, reason: reason.optional() }),
  'user.reinstated': z.strictObject({ userId: uuid, reason: reason.optional() }),
  'user.security_reset': z.strictObject({ userId: uuid, reason: reason.optional() }),
  'session.revoked': z.strictObject({ sessionId: uuid, reason }),
  'refresh_token.reused': z.strictObject({
    sessionId: uuid,
    userId: uuid,
    ip: storableText.max(64).optional(),
    userAgent: storableText.max(512).optional(),
  }),
  'membership.role_changed': z.strictObject({ organizationId: uuid, userId: uuid, role: storableText.regex(/^[a-z][a-z0-9_-]{0,63}$/) }),
  'membership.removed': z.strictObject({ organizationId: uuid, userId: uuid }),
  'organization.suspended': z.strictObject({ organizationId: uuid, reason: reason.optional() }),
  'organization.reinstated': z.strictObject({ organizationId: uuid, reason: reason.optional() }),
  'organization.permissions_changed': z.strictObject({ organizationId: uuid }),
  'cache.rebuild_requested': z.union([
    z.strictObject({ scope: z.literal('all') }),
    z.strictObject({ scope: z.enum(['user', 'organization']), id: uuid }),
  ]),
  // Audit-only events the API records through the outbox (not accepted from product backends).
  'auth.login_succeeded': z.strictObject({ userId: uuid, sessionId: uuid, organizationId: uuid.optional() }),
  'auth.login_failed': z.strictObject({ userId: uuid.optional(), reason: storableText.max(100) }),
  'auth.logout': z.strictObject({ userId: uuid, sessionId: uuid }),
  // The audit log's own export (internal: written by the API's export route, never by backends).
  'audit.exported': z.strictObject({
    format: z.enum(['ndjson', 'csv']),
    organizationId: uuid.optional(),
    userId: uuid.optional(),
    filters: z.record(storableText.max(40), storableText.max(200)),
  }),
} as const;

export type EventType = keyof typeof EVENT_DATA;
export const EVENT_TYPES = Object.keys(EVENT_DATA) as EventType[];

/** Types a product backend may send to `POST /v1/events`. */
export const PUBLIC_EVENT_TYPES = EVENT_TYPES.filter((t) => !t.startsWith('auth.') && !t.startsWith('audit.')) as EventType[];

export const actorSchema = z.strictObject({ type: z.enum(['user', 'service', 'system']), id: storableText.min(1).max(200) });

const envelopeBase = {
  id: uuid,
  version: z.literal(1),
  occurredAt: instant,
  source: storableText.min(1).max(200),
  actor: actorSchema,
  requestId: storableText.max(128).optional(),
  idempotencyKey: storableText.min(1).max(200).optional(),
  ip: storableText.max(64).optional(),
  userAgent: storableText.max(512).optional(),
};

/** The envelope, validated at enqueue and again in the worker: one schema for both. */
export const eventEnvelopeSchema = z.discriminatedUnion(
  'type',
  EVENT_TYPES.map((type) => z.strictObject({ ...envelopeBase, type: z.literal(type), data: EVENT_DATA[type] })) as unknown as [
    z.ZodObject,
    ...z.ZodObject[],
  ],
);

/** A validated event, its `data` typed by its `type`. */
export type SecurityEvent = {
  [T in EventType]: {
    id: string;
    type: T;
    version: 1;
    occurredAt: string;
    source: string;
    actor: z.infer<typeof actorSchema>;
    requestId?: string;
    idempotencyKey?: string;
    ip?: string;
    userAgent?: string;
    data: z.infer<(typeof EVENT_DATA)[T]>;
  };
}[EventType];

export type EventOf<T extends EventType> = Extract<SecurityEvent, { type: T }>;

export function parseEvent(input: unknown): SecurityEvent {
  return eventEnvelopeSchema.parse(input) as SecurityEvent;
}

/** Event types whose effect is to refuse tokens: their end-to-end time is the revocation lag (P2). */
export const REVOKING_TYPES: ReadonlySet<EventType> = new Set<EventType>([
  'user.password_changed',
  'user.logged_out_all',
  'user.suspended',
  'user.security_reset',
  'session.revoked',
  'refresh_token.reused',
  'membership.role_changed',
  'membership.removed',
  'organization.suspended',
  'organization.permissions_changed',
]);

