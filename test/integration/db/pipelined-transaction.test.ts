import { QueryTypes, type Sequelize } from 'sequelize';
import { loadConfig } from '../../../shared/src/config/load-config';
import { createDatabase } from '../../../shared/src/db/connection';
import { pipelinedTransaction } from '../../../shared/src/db/pipelined-transaction';
import { rawQueryIn, type Statement } from '../../../shared/src/db/raw-connection';
import { TEST_ENV } from '../../support/test-env';

/**
 * shared/src/db/pipelined-transaction.ts against the real Postgres, on a pool of one connection
 * (so every transaction here runs on the same connection, and its state afterwards can be read).
 */
let db: Sequelize;
const TABLE = `lk_pipelined_${process.pid}`;

beforeAll(async () => {
  db = createDatabase(loadConfig(TEST_ENV), 1);
  await db.query(`CREATE TABLE ${TABLE} (n int PRIMARY KEY)`);
});
afterAll(async () => {
  await db.query(`DROP TABLE IF EXISTS ${TABLE}`);
  await db.close();
});
beforeEach(() => db.query(`TRUNCATE ${TABLE}`));

const insert = (n: number): Statement => ({ name: `lk_test_pipelined_insert`, text: `INSERT INTO ${TABLE} (n) VALUES ($1::int)`, values: [n] });
const stored = async () => (await db.query<{ n: number }>(`SELECT n FROM ${TABLE} ORDER BY n`, { type: QueryTypes.SELECT })).map((r) => r.n);

interface Wire {
  pipeline: boolean;
  getTransactionStatus(): string | null;
  connection: { stream: NodeJS.EventEmitter & { write: (...args: unknown[]) => boolean } };
}

/** The pool's one connection, handed back at once. */
async function theConnection(): Promise<Wire> {
  const client = (await db.connectionManager.getConnection({ type: 'write' })) as unknown as Wire;
  db.connectionManager.releaseConnection(client as never);
  return client;
}

it('commits the work and the last statement together, and hands the connection back idle and out of pipeline mode', async () => {
  const result = await pipelinedTransaction(db, async (t, commitWith) => {
    await rawQueryIn(db, t, insert(1));
    await db.query(`INSERT INTO ${TABLE} (n) VALUES (2)`, { transaction: t });
    commitWith(insert(3));
    return 'done';
  });
  expect(result).toBe('done');
  expect(await stored()).toEqual([1, 2, 3]);
  const client = await theConnection();
  expect(client.pipeline).toBe(false);
  expect(client.getTransactionStatus()).toBe('I');
});

it('sends the first statement behind BEGIN and the last one with COMMIT, without waiting for answers in between', async () => {
  const client = await theConnection();
  const log: string[] = [];
  const stream = client.connection.stream;
  const write = stream.write;
  stream.write = function (this: unknown, ...args: unknown[]) {
    log.push('write');
    return write.apply(this, args);
  };
  const onData = () => log.push('read');
  stream.on('data', onData);
  try {
    await pipelinedTransaction(db, async (t, commitWith) => {
      log.push('first');
      await rawQueryIn(db, t, insert(1));
      log.push('last');
      commitWith(insert(2));
    });
  } finally {
    stream.write = write;
    stream.off('data', onData);
  }
  expect(await stored()).toEqual([1, 2]);
  // BEGIN, then the first statement before anything was read; later, the last statement and
  // COMMIT before anything was read again.
  const compact = log.join(' ').replace(/(write ?)+/g, 'write ').replace(/(read ?)+/g, 'read ').trim();
  expect(compact).toBe('write first write read last write read');
});

it('rolls everything back when the last statement fails: the COMMIT behind it is answered ROLLBACK', async () => {
  await expect(
    pipelinedTransaction(db, async (t, commitWith) => {
      await rawQueryIn(db, t, insert(1));
      commitWith(insert(1)); // duplicate key
    }),
  ).rejects.toThrow(/duplicate key/);
  expect(await stored()).toEqual([]);
  expect((await theConnection()).getTransactionStatus()).toBe('I');
});

it('rolls everything back when the work throws, also after a statement of it failed', async () => {
  await expect(
    pipelinedTransaction(db, async (t) => {
      await rawQueryIn(db, t, insert(1));
      throw new Error('refused');
    }),
  ).rejects.toThrow('refused');
  await expect(
    pipelinedTransaction(db, async (t) => {
      await rawQueryIn(db, t, insert(2));
      await rawQueryIn(db, t, insert(2));
    }),
  ).rejects.toThrow(/duplicate key/);
  expect(await stored()).toEqual([]);
  expect((await theConnection()).getTransactionStatus()).toBe('I');
});

it('keeps savepoints working: a failed nested transaction does not abort the outer one', async () => {
  await pipelinedTransaction(db, async (t, commitWith) => {
    await rawQueryIn(db, t, insert(1));
    await expect(db.transaction({ transaction: t }, (sp) => rawQueryIn(db, sp, insert(1)))).rejects.toThrow(/duplicate key/);
    commitWith(insert(2));
  });
  expect(await stored()).toEqual([1, 2]);
});
