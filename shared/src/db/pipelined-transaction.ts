import { Transaction, type Sequelize } from 'sequelize';
import type { Statement } from './raw-connection';

/** The `pg` client under Sequelize's pool, with the parts pipelining needs. */
interface PipelinedClient {
  pipeline: boolean;
  uuid?: string;
  query(statement: string | Statement): Promise<{ command: string }>;
  getTransactionStatus(): string | null;
}

/** Hands the transaction its last statement, to be sent together with COMMIT. */
export type CommitWith = (last: Statement) => void;

/**
 * A transaction on a pooled connection in `pg`'s pipeline mode, for the worker's hot path: BEGIN
 * is not waited for, so the first statement of `work` travels with it, and the statement `work`
 * passes to `commitWith` travels with COMMIT. A transaction of n statements then costs n − 1
 * round trips instead of n + 1; each round trip wakes a Postgres backend, which on a loaded
 * machine costs more than the statement itself.
 *
 * `t` is a Sequelize transaction on that connection: `db.query(..., { transaction: t })`,
 * `rawQueryIn` and savepoints (`db.transaction({ transaction: t }, ...)`) work as usual. Every
 * statement ends in a Sync, so Postgres handles each one's outcome on its own, in order:
 * - BEGIN on an idle connection (checked first) cannot fail unless the connection does, and then
 *   nothing queued behind it runs either;
 * - if `work` throws, the transaction is rolled back;
 * - if the last statement fails, the transaction is aborted and the COMMIT behind it rolls back
 *   (Postgres answers it `ROLLBACK`): nothing is half applied, and the error is thrown;
 * - a COMMIT answered anything but `COMMIT` throws.
 * A connection left in any state but idle is destroyed, never returned to the pool. Pipeline
 * mode is switched off again before the connection goes back (cursors and streams need it off).
 */
export async function pipelinedTransaction<R>(db: Sequelize, work: (t: Transaction, commitWith: CommitWith) => Promise<R>): Promise<R> {
  const manager = db.connectionManager;
  const client = (await manager.getConnection({ type: 'write' })) as PipelinedClient;
  if (client.getTransactionStatus() !== 'I') {
    await manager.destroyConnection(client as never);
    throw new Error(`a pooled connection was not idle (${client.getTransactionStatus()})`);
  }
  const t = new Transaction(db, {});
  Object.assign(t, { connection: client });
  client.uuid = (t as unknown as { id: string }).id;
  client.pipeline = true;
  let committed = false;
  try {
    const begun = client.query('BEGIN');
    let last: Statement | undefined;
    let result: R;
    try {
      result = await work(t, (statement) => (last = statement));
      await begun;
    } catch (err) {
      await begun.catch(() => undefined);
      if (client.getTransactionStatus() !== 'I') await client.query('ROLLBACK');
      throw err;
    }
    const sent = [last ? client.query(last) : undefined, client.query('COMMIT')] as const;
    const [staged, commit] = await Promise.allSettled(sent);
    if (staged.status === 'rejected') throw staged.reason;
    if (commit.status === 'rejected') throw commit.reason;
    if (commit.value.command !== 'COMMIT') throw new Error(`COMMIT was answered ${commit.value.command}`);
    committed = true;
    return result;
  } finally {
    Object.assign(t, { finished: committed ? 'commit' : 'rollback' });
    client.pipeline = false;
    client.uuid = undefined;
    if (client.getTransactionStatus() === 'I') manager.releaseConnection(client as never);
    else await manager.destroyConnection(client as never);
  }
}
