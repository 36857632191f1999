import net from 'node:net';
import tls from 'node:tls';
import { runIdIn } from './nodes';
import { encodeCommand, RespError, RespParser, RespProtocolError, type Reply } from './resp';

interface Waiting {
  resolve(reply: Reply): void;
  reject(err: Error): void;
  sentAt: number;
  /** For an MGET: how many values it must answer (anything else breaks the connection). */
  values?: number;
}

/** Where a `redis://` or `rediss://` URL points, and how to sign in there. */
interface Endpoint {
  host: string;
  port: number;
  tls: boolean;
  username?: string;
  password?: string;
  db: number;
}

/**
 * The verification hot path's one Redis read (`MGET` of a user's state keys), on a connection of
 * its own that speaks RESP directly. Every protected request makes this read (G1 needs it), and a
 * general client's command machinery (command objects, auto-pipelines, per-command timers,
 * promise adapters) cost about as much CPU as the rest of the verification: measured in
 * bench/RESULTS.md (P1). Everything else keeps using ioredis. The reads of one turn of the event
 * loop (under load, the requests of a whole poll: dozens) leave in one socket write, and their
 * replies come back in one read.
 *
 * Fails fast and closed, like the `request` ioredis connection it stands beside: a read while
 * not connected, an error reply, a broken reply or no reply within `timeoutMs` rejects (the
 * verifier then reads Postgres); the last two also drop the connection, with everything waiting
 * on it, so that a reply can never be matched to the wrong read. It reconnects by itself (every
 * 100 ms to 1 s). On each connection it reads the server's `run_id` (`runId`): the cache guard
 * decides whether that server's state may be trusted (cache-guard.ts).
 *
 * One server only (`redis://` / `rediss://`, with user, password and database number); a Redis
 * Cluster is read through ioredis, which follows the slots.
 */
export class StateReader {
  private socket: net.Socket | undefined;
  private parser = new RespParser();
  private readonly waiting: Waiting[] = [];
  private readonly onConnected: Array<() => void> = [];
  private corked = false;
  private connectedRunId: string | undefined;
  private attempts = 0;
  private ended = false;
  private readonly watchdog: NodeJS.Timeout;
  private readonly endpoint: Endpoint;

  constructor(
    url: string,
    private readonly timeoutMs = 1_000,
  ) {
    this.endpoint = endpointOf(url);
    this.connect();
    this.watchdog = setInterval(() => {
      const oldest = this.waiting[0];
      if (oldest && performance.now() - oldest.sentAt > this.timeoutMs) this.drop(new Error(`redis state read timed out after ${this.timeoutMs} ms`));
    }, Math.max(10, this.timeoutMs / 4));
    this.watchdog.unref();
  }

  /** True for the URLs a StateReader can serve (one server, not a cluster). */
  static serves(url: string): boolean {
    return /^rediss?:\/\//i.test(url);
  }

  /** The `run_id` of the server this reader is connected to; undefined while it is not. */
  get runId(): string | undefined {
    return this.connectedRunId;
  }

  /** Resolves true once connected (its run id read), false after `timeoutMs` (it keeps trying). */
  whenConnected(timeoutMs = 3_000): Promise<boolean> {
    if (this.connectedRunId) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.onConnected.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  /** The values of `keys` (null where missing), in one round trip. */
  mget(keys: readonly string[]): Promise<Array<string | null>> {
    if (!this.connectedRunId) return Promise.reject(new Error('redis state reader not connected'));
    return this.send(['MGET', ...keys], keys.length) as Promise<Array<string | null>>;
  }

  close(): void {
    this.ended = true;
    clearInterval(this.watchdog);
    this.drop(new Error('redis state reader closed'));
  }

  private send(args: readonly string[], values?: number): Promise<Reply> {
    const socket = this.socket;
    if (!socket) return Promise.reject(new Error('redis state reader not connected'));
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject, sentAt: performance.now(), values });
      if (!this.corked) {
        // The reads of one turn of the event loop leave in one write, at its end.
        this.corked = true;
        socket.cork();
        setImmediate(() => {
          this.corked = false;
          socket.uncork();
        });
      }
      socket.write(encodeCommand(args));
    });
  }

  private connect(): void {
    const { host, port } = this.endpoint;
    const socket = this.endpoint.tls ? tls.connect({ host, port, servername: net.isIP(host) ? undefined : host }) : net.connect({ host, port });
    this.socket = socket;
    this.parser = new RespParser();
    socket.setNoDelay(true);
    socket.on(this.endpoint.tls ? 'secureConnect' : 'connect', () => void this.handshake(socket));
    socket.on('data', (chunk: Buffer) => this.received(chunk));
    socket.on('error', () => undefined); // 'close' follows
    socket.on('close', () => {
      if (this.socket !== socket) return;
      this.socket = undefined;
      this.connectedRunId = undefined;
      this.failWaiting(new Error('redis state reader connection closed'));
      if (this.ended) return;
      const delay = Math.min(++this.attempts * 100, 1_000);
      setTimeout(() => this.ended || this.connect(), delay).unref();
    });
  }

  /** Signs in, selects the database, names the connection and reads the server's run id. */
  private async handshake(socket: net.Socket): Promise<void> {
    const { username, password, db } = this.endpoint;
    try {
      const steps: Array<Promise<Reply>> = [];
      if (password !== undefined) steps.push(this.send(username ? ['AUTH', username, password] : ['AUTH', password]));
      if (db !== 0) steps.push(this.send(['SELECT', String(db)]));
      steps.push(this.send(['CLIENT', 'SETNAME', 'latchkey-state-reader']), this.send(['INFO', 'server']));
      // An error reply rejects its step (see `received`).
      const replies = await Promise.all(steps);
      const runId = runIdIn(String(replies.at(-1)));
      if (!runId) throw new RespProtocolError('INFO server named no run_id');
      if (this.socket !== socket) return;
      this.connectedRunId = runId;
      this.attempts = 0;
      for (const notify of this.onConnected.splice(0)) notify();
    } catch (err) {
      if (this.socket === socket) this.drop(err as Error);
    }
  }

  private received(chunk: Buffer): void {
    try {
      this.parser.feed(chunk, (reply) => {
        const waiting = this.waiting.shift();
        if (!waiting) throw new RespProtocolError('a reply nobody asked for');
        if (reply instanceof RespError) return waiting.reject(reply);
        if (waiting.values !== undefined && !isValues(reply, waiting.values)) {
          const err = new RespProtocolError('MGET answered something else than one value per key');
          waiting.reject(err);
          throw err;
        }
        waiting.resolve(reply);
      });
    } catch (err) {
      this.drop(err as Error);
    }
  }

  /** Closes the connection (it reconnects unless closed for good), failing every waiting read. */
  private drop(err: Error): void {
    this.connectedRunId = undefined;
    this.failWaiting(err);
    this.socket?.destroy();
  }

  private failWaiting(err: Error): void {
    for (const waiting of this.waiting.splice(0)) waiting.reject(err);
  }
}

const isValues = (reply: Reply, count: number): boolean =>
  Array.isArray(reply) && reply.length === count && reply.every((v) => v === null || typeof v === 'string');

function endpointOf(url: string): Endpoint {
  const u = new URL(url);
  const db = Number(u.pathname.replace(/^\//, '') || '0');
  if (!Number.isInteger(db) || db < 0) throw new Error(`bad Redis database number in ${u.protocol}//${u.host}${u.pathname}`);
  return {
    host: u.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
    port: Number(u.port || 6379),
    tls: u.protocol === 'rediss:',
    username: u.username ? decodeURIComponent(u.username) : undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    db,
  };
}
