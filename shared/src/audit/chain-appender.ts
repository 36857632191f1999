import type { Sequelize } from 'sequelize';
import { appendStagedRecords, STAGED_BATCH, type ChainedStatement } from './audit-writer';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Links staged audit records into the chain for one process, in batches: every caller that asks
 * while a batch is being written is served by the next one, so under load one chain transaction
 * (one lock wait, one commit) carries the records of many events.
 *
 * A record is chained once its caller releases it (`flushed([eventId])`), which a worker does after
 * the event's effects are written through to Redis: chaining marks the event `processed`, so
 * `processed` implies the effects are visible. A record nobody releases (its process died) is
 * chained UNRELEASED_AFTER_SECONDS after it was staged, by any process's next drain.
 */
export class ChainAppender {
  private tail: Promise<unknown> = Promise.resolve();
  private next: Promise<void> | undefined;
  private readonly released = new Set<string>();

  constructor(
    private readonly db: Sequelize,
    private readonly then?: ChainedStatement,
    private readonly batch = STAGED_BATCH,
  ) {}

  /**
   * Releases the records of `eventIds` and resolves once every released record staged (committed)
   * before the call is in the chain: a drain that starts after the call covers it. Rejects when
   * that drain fails (the caller retries).
   */
  flushed(eventIds: string[] = []): Promise<void> {
    // Only ids of the uuid form: one malformed id would fail every drain that carries it.
    for (const id of eventIds) if (UUID.test(id)) this.released.add(id);
    if (this.next) return this.next;
    const run: Promise<void> = this.tail.then(
      () => this.drain(run),
      () => this.drain(run),
    );
    this.next = run;
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** Waits for the drains asked for so far. */
  async idle(): Promise<void> {
    await this.tail;
  }

  private async drain(run: Promise<void>): Promise<void> {
    // From here on, a new caller may have staged after this drain read: it needs the next one.
    if (this.next === run) this.next = undefined;
    const released = [...this.released];
    this.released.clear();
    try {
      while ((await appendStagedRecords(this.db, this.batch, this.then, released)) === this.batch);
    } catch (err) {
      // Not chained: released again for the next drain.
      for (const id of released) this.released.add(id);
      throw err;
    }
  }
}
