/**
 * The product-backend kit: everything a product backend imports to trust Latchkey's tokens
 * itself (JWKS over HTTP, Latchkey's Redis state, introspection as fallback) and to publish
 * security events with the typed producer. This file is the kit's whole public API.
 */
export { createVerifier, requirePermission, type LatchkeyAuth, type VerifierMiddleware } from './middleware';
export { KitVerifier, type VerifierOptions } from './kit-verifier';
export { introspect, type IntrospectionOptions, type IntrospectionResult } from './introspection-client';
export { EventProducer, SECURITY_EVENTS_QUEUE } from '../events/producer';
export { buildEvent, type NewEvent } from '../events/outbox';
export type { SecurityEvent, EventType, EventOf } from '../events/schemas';
export type { AccessClaims } from '../verify/auth-state';
export { grants } from '../verify/permissions';
/** The connection factory Latchkey itself uses: one server or a Redis Cluster (`redis+cluster://h:p,h:p`). */
export { createRedis, type RedisClient } from '../redis/client';
