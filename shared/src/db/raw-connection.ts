import type { Sequelize, Transaction } from 'sequelize';

/** One statement, named so that `pg` prepares it once per connection. */
export interface Statement {
  name: string;
  text: string;
  values: unknown[];
}

/** The part of a `pg` client a hot path needs: one (named, so prepared once per connection) query. */
export interface RawClient {
  query<R>(config: { name?: string; text: string; values?: unknown[] }): Promise<{ rows: R[]; rowCount: number | null }>;
}

/**
 * Runs one statement on a connection borrowed from the Sequelize pool, through `pg` directly.
 * For hot paths only: no Sequelize query building or result mapping, and a `name` makes `pg`
 * prepare the statement once per connection (Bind/Execute afterwards, no parse or plan). The
 * connection is the pool's own (same limit, same type parsers, same statement_timeout); a single
 * statement outside a transaction is atomic by itself. Errors are `pg`'s (codes and messages that
 * `isDependencyUnavailable` recognises when Postgres cannot answer; pool exhaustion is Sequelize's
 * ConnectionAcquireTimeoutError).
 */
export async function rawQuery<R>(db: Sequelize, query: { name?: string; text: string; values?: unknown[] }): Promise<R[]> {
  const manager = db.connectionManager;
  const client = (await manager.getConnection({ type: 'write' })) as RawClient;
  try {
    const result = await client.query<R>(query);
    return result.rows;
  } finally {
    manager.releaseConnection(client);
  }
}

/**
 * The same, inside a Sequelize transaction: the statement runs on the transaction's own
 * connection (so it sees and holds what the transaction does), prepared once per connection.
 * Without a transaction it is `rawQuery`.
 */
export async function rawQueryIn<R>(
  db: Sequelize,
  t: Transaction | null | undefined,
  query: Statement,
): Promise<R[]> {
  if (!t) return rawQuery<R>(db, query);
  const client = (t as unknown as { connection?: RawClient }).connection;
  if (!client) throw new Error('the transaction has no connection yet');
  return (await client.query<R>(query)).rows;
}
