import { Client, type Notification } from 'pg';
import type { Sequelize, Transaction } from 'sequelize';
import type { Logger } from '../logging/logger';

/**
 * How a change of the signing keys reaches every running process at once: Postgres LISTEN/NOTIFY.
 *
 * Why Postgres and not Redis pub/sub: the keys live in Postgres, and a NOTIFY sent inside the
 * transaction that changes them is delivered exactly when it commits (never for a rollback, never
 * before the new rows are visible), so a process that reloads on the notice always finds the new
 * keys. The CLI that rotates holds only a Postgres connection, and the key ring already depends
 * on Postgres alone; Redis pub/sub would add a second dependency to both and a window between
 * commit and publish. The cost is one dedicated connection per listening process: LISTEN needs a
 * session of its own, so it cannot borrow from the pool, nor work through a transaction-pooling
 * proxy (there only the key ring's periodic reload remains).
 */
export const SIGNING_KEYS_CHANNEL = 'latchkey_signing_keys';

/** The application_name of the listening connection (operators and tests can find it). */
export const LISTENER_APPLICATION_NAME = 'latchkey-signing-key-notices';

/** Backoff between reconnect attempts, and how often a quiet connection is checked to be alive. */
const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 5_000;
const HEARTBEAT_MS = 30_000;
const QUERY_TIMEOUT_MS = 5_000;

/**
 * Announces, inside `transaction`, that the signing keys changed; listeners hear it on commit.
 * Postgres folds identical notices of one transaction into one, so writers may call it freely.
 */
export async function announceSigningKeysChanged(db: Sequelize, transaction: Transaction): Promise<void> {
  await db.query('SELECT pg_notify(:channel, :payload)', { replacements: { channel: SIGNING_KEYS_CHANNEL, payload: '' }, transaction });
}

/**
 * Listens for those notices on a connection of its own and calls `onChange` for each, and once
 * each time it (re)connects: notices sent while it was not listening are lost, so the caller
 * catches up then (the first connect also closes the gap between the caller's initial load and
 * the LISTEN). It connects in the background, never delays nor fails its owner's start-up,
 * reconnects by itself with backoff, and pings a quiet connection so a half-open one is noticed.
 */
export class SigningKeyNoticeListener {
  private client?: Client;
  private connected = false;
  private closed = false;
  private attempts = 0;
  private retryTimer?: NodeJS.Timeout;
  private heartbeat?: NodeJS.Timeout;

  constructor(
    private readonly databaseUrl: string,
    private readonly onChange: () => void,
    private readonly logger?: Logger,
  ) {}

  start(): void {
    void this.connect();
    this.heartbeat = setInterval(() => this.ping(), HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.heartbeat);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    const client = new Client({
      connectionString: this.databaseUrl,
      application_name: LISTENER_APPLICATION_NAME,
      connectionTimeoutMillis: 3_000,
      // Its only queries are LISTEN and the heartbeat: one that hangs means a dead connection.
      query_timeout: QUERY_TIMEOUT_MS,
      keepAlive: true,
    });
    this.client = client;
    // Stays attached after the client is dropped: an unhandled 'error' would crash the process.
    client.on('error', (err) => this.drop(client, err));
    client.on('end', () => this.drop(client));
    client.on('notification', (notice: Notification) => {
      if (notice.channel === SIGNING_KEYS_CHANNEL) this.onChange();
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${SIGNING_KEYS_CHANNEL}`);
    } catch (err) {
      this.drop(client, err);
      return;
    }
    if (this.client !== client) return; // closed or dropped meanwhile
    if (this.attempts > 0) this.logger?.info('signing key notices: listening again');
    this.attempts = 0;
    this.connected = true;
    this.onChange();
  }

  /** Forgets a failed connection (once, whichever of its events comes first) and schedules the next. */
  private drop(client: Client, err?: unknown): void {
    if (this.client !== client) return;
    this.client = undefined;
    // end() destroys the socket when a query (the heartbeat) hangs on it.
    void client.end().catch(() => undefined);
    if (this.closed) return;
    // Once per outage, not once per attempt.
    if (this.attempts === 0) {
      this.logger?.warn({ reason: err instanceof Error ? err.message : 'connection ended' }, 'signing key notices: not listening, reconnecting');
    }
    this.connected = false;
    const delay = Math.min(RECONNECT_MIN_MS * 2 ** this.attempts, RECONNECT_MAX_MS);
    this.attempts += 1;
    this.retryTimer = setTimeout(() => void this.connect(), delay);
    this.retryTimer.unref();
  }

  private ping(): void {
    const client = this.client;
    if (!client || !this.connected) return;
    client.query('SELECT 1').catch((err: unknown) => this.drop(client, err));
  }
}
