import type { Sequelize, Transaction } from 'sequelize';
import type { ChainAppender } from '../../shared/src/audit/chain-appender';
import type { Config } from '../../shared/src/config/load-config';
import type { EventOf, EventType } from '../../shared/src/events/schemas';
import type { Logger } from '../../shared/src/logging/logger';
import type { MailTransport } from '../../shared/src/mail/mailer';
import type { RedisClient } from '../../shared/src/redis/client';
import type { Keys } from '../../shared/src/redis/keys';
import type { RevocationResult, Revocations } from '../../shared/src/security/revocations';
import type { MembershipState } from '../../shared/src/verify/auth-state';
import type { StateCache } from '../../shared/src/verify/state-cache';
import type { StateSync } from '../../shared/src/verify/state-sync';

/** What every handler may use. */
export interface HandlerContext {
  config: Config;
  db: Sequelize;
  redis: RedisClient;
  keys: Keys;
  cache: StateCache;
  /** Rewrites Redis from Postgres; concurrent calls share reads. */
  stateSync: StateSync;
  revocations: Revocations;
  mailer: MailTransport;
  logger: Logger;
  /** Links the audit records events stage into the chain, in batches. */
  auditChain: ChainAppender;
}

/** The audit record an event produces (the framework adds id, event id, type, time, actor, chain). */
export interface AuditFacts {
  severity: 'info' | 'warning' | 'critical';
  userId?: string | null;
  organizationId?: string | null;
  sessionId?: string | null;
  details?: Record<string, unknown>;
  /** What tokens must see at once: written to Redis as soon as the transaction commits. */
  writeThrough?: WriteThrough;
}

/**
 * The version bumps and revocations an `apply` made, as its own statements returned them (so,
 * committed values once its transaction commits). The framework writes them to Redis right after
 * the commit, without reading Postgres again; `sync` then rewrites the user's whole state.
 * Redis writes never lower a version, so the order of the two cannot matter.
 */
export interface WriteThrough {
  user?: RevocationResult;
  memberships?: Array<{ userId: string; membershipId: string; state: MembershipState }>;
}

/**
 * One handler per event type, in two phases, so that every delivery is safe:
 * - `apply` changes Postgres inside the framework's transaction, which first claims the event (its
 *   row becomes `processed`) and then stages its one audit record. It runs at most once per event
 *   id: a redelivered event finds the claim taken and skips it.
 * - the `writeThrough` an apply returns is written to Redis right after its commit (the fast
 *   path for revocations, G2);
 * - `sync` runs after commit on every delivery (also redeliveries), and rewrites the affected
 *   Redis state from Postgres, so a crash between commit and cache write is repaired by the retry.
 *   It may also send notices; it must be idempotent.
 */
export interface EventHandler<T extends EventType> {
  apply(event: EventOf<T>, t: Transaction, ctx: HandlerContext): Promise<AuditFacts>;
  sync(event: EventOf<T>, ctx: HandlerContext): Promise<void>;
}

/** The typed registry: exactly one handler for every event type (checked at compile time and start). */
export type HandlerRegistry = { [T in EventType]: EventHandler<T> };
