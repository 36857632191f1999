import { auditStagingStatement, type NewAuditRecord } from '../../shared/src/audit/audit-writer';
import { pipelinedTransaction } from '../../shared/src/db/pipelined-transaction';
import type { SecurityEvent } from '../../shared/src/events/schemas';
import { claimEvent, claimEvents } from './event-rows';
import type { AuditFacts, EventHandler, HandlerContext, WriteThrough } from './handler';

/** What applying one delivery came to. */
export interface Applied {
  outcome: 'applied' | 'duplicate';
  /** When the event's row was first stored (for the lag metric); set when applied. */
  storedAt?: Date;
  /** The handler's write-through, to be written once the transaction has committed. */
  writeThrough?: WriteThrough;
}

/** At most this many deliveries share one transaction. */
const MAX_BATCH = 32;
/** At most this many transactions of one process apply events at once. */
const MAX_RUNNING = 2;

type AnyHandler = EventHandler<never>;

interface Delivery {
  event: SecurityEvent;
  handler: AnyHandler;
  resolve(applied: Applied): void;
  reject(err: unknown): void;
}

/**
 * Applies the deliveries a worker process holds at once in shared transactions: one BEGIN, one
 * claim, one staging insert and one COMMIT for a whole batch, instead of for every event, with
 * the handlers' own statements run one after another in between. Each transaction is pipelined
 * (`pipelinedTransaction`): the claim travels with BEGIN, the staging insert with COMMIT. Deliveries that arrive while
 * the process's transactions are busy wait for the next batch, so the batch size follows the load
 * (one delivery alone is applied at once, on its own).
 *
 * Nothing is ever half applied: if anything in a batch fails (a handler refuses its event, a
 * deadlock, Postgres going away), the batch's transaction rolls back as a whole and each of its
 * deliveries is applied again in a transaction of its own (`applyOne`), where a refusal or a
 * failure is that event's alone, exactly as without batching.
 * Within a batch, events are applied in order of the user they concern (stable, so one user's
 * events keep their delivery order): concurrent batches take user locks in the same order.
 */
export class ApplyBatches {
  private readonly waiting: Delivery[] = [];
  private running = 0;
  private scheduled = false;

  constructor(private readonly ctx: HandlerContext) {}

  apply(event: SecurityEvent, handler: AnyHandler): Promise<Applied> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ event, handler, resolve, reject });
      this.schedule();
    });
  }

  /** Starts batches on the next turn of the event loop, so deliveries of this turn go together. */
  private schedule(): void {
    if (this.scheduled || this.running >= MAX_RUNNING || this.waiting.length === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      while (this.running < MAX_RUNNING && this.waiting.length > 0) {
        const batch = this.waiting.splice(0, MAX_BATCH);
        this.running++;
        void this.run(batch).finally(() => {
          this.running--;
          this.schedule();
        });
      }
    });
  }

  private async run(batch: Delivery[]): Promise<void> {
    if (batch.length > 1) {
      let outcome: { applied: Map<Delivery, Applied>; later: Delivery[] } | undefined;
      try {
        outcome = await this.applyTogether(batch);
      } catch {
        // Rolled back as a whole: each delivery is applied on its own below.
      }
      if (outcome) {
        for (const [delivery, applied] of outcome.applied) delivery.resolve(applied);
        batch = outcome.later;
      }
    }
    await Promise.all(batch.map((d) => applyOne(this.ctx, d.event, d.handler).then(d.resolve, d.reject)));
  }

  /**
   * One transaction for the batch. Returns what was applied, and the deliveries left for
   * `applyOne` after commit: events without a row yet (their claim inserts one) and a second
   * delivery of an event already in this batch (it then finds the event claimed).
   */
  private async applyTogether(batch: Delivery[]) {
    const { db } = this.ctx;
    const ordered = [...batch].sort((a, b) => compare(userOf(a.event), userOf(b.event)));
    const seen = new Set<string>();
    const later: Delivery[] = [];
    const unique = ordered.filter((d) => (seen.has(d.event.id) ? (later.push(d), false) : seen.add(d.event.id)));
    const applied = await pipelinedTransaction(db, async (t, commitWith) => {
      const claims = await claimEvents(db, t, unique.map((d) => d.event.id));
      const results = new Map<Delivery, Applied>();
      const records: NewAuditRecord[] = [];
      for (const delivery of unique) {
        const claim = claims.get(delivery.event.id)!;
        if (claim === 'unknown') later.push(delivery);
        else if (!claim.claimed) results.set(delivery, { outcome: 'duplicate' });
        else {
          const facts = await delivery.handler.apply(delivery.event as never, t, this.ctx);
          records.push(auditOf(delivery.event, facts));
          results.set(delivery, appliedWith(claim.storedAt, facts));
        }
      }
      if (records.length > 0) commitWith(auditStagingStatement(records));
      return results;
    });
    return { applied, later };
  }
}

/** One delivery in a transaction of its own: claim (with BEGIN), apply, stage (with COMMIT). */
async function applyOne(ctx: HandlerContext, event: SecurityEvent, handler: AnyHandler): Promise<Applied> {
  return pipelinedTransaction(ctx.db, async (t, commitWith): Promise<Applied> => {
    const claim = await claimEvent(ctx.db, t, event);
    if (!claim.claimed) return { outcome: 'duplicate' };
    const facts = await handler.apply(event as never, t, ctx);
    commitWith(auditStagingStatement([auditOf(event, facts)]));
    return appliedWith(claim.storedAt, facts);
  });
}

const appliedWith = (storedAt: Date | undefined, facts: AuditFacts): Applied => ({
  outcome: 'applied',
  storedAt,
  ...(facts.writeThrough ? { writeThrough: facts.writeThrough } : {}),
});

/** Writes a committed write-through to Redis (user and revoked sessions, memberships). */
export async function writeCommitted(ctx: HandlerContext, w: WriteThrough): Promise<void> {
  await Promise.all([w.user ? ctx.revocations.writeThrough(w.user) : undefined, w.memberships ? ctx.cache.writeMemberships(w.memberships) : undefined]);
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

const userOf = (event: SecurityEvent): string => {
  const userId = (event.data as { userId?: unknown }).userId;
  return typeof userId === 'string' ? userId : '';
};

/** The audit record of an applied event: the envelope's who/where plus the handler's facts. */
function auditOf(event: SecurityEvent, facts: AuditFacts): NewAuditRecord {
  return {
    eventId: event.id,
    type: event.type,
    severity: facts.severity,
    occurredAt: event.occurredAt,
    actor: event.actor,
    userId: facts.userId ?? null,
    organizationId: facts.organizationId ?? null,
    sessionId: facts.sessionId ?? null,
    ip: event.ip ?? null,
    userAgent: event.userAgent ?? null,
    requestId: event.requestId ?? null,
    details: { source: event.source, ...(event.idempotencyKey ? { idempotencyKey: event.idempotencyKey } : {}), ...(facts.details ?? {}) },
  };
}

const batchesByContext = new WeakMap<HandlerContext, ApplyBatches>();

/** The batches of one worker process (one handler context). */
export function batchesOf(ctx: HandlerContext): ApplyBatches {
  let batches = batchesByContext.get(ctx);
  if (!batches) batchesByContext.set(ctx, (batches = new ApplyBatches(ctx)));
  return batches;
}
