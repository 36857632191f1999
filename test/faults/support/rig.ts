import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { PrivateRedis, freePort } from '../../support/private-redis';
import { dumpRedis } from './evidence';
import { faultsDatabaseUrl } from './fault-env';
import { openDb } from './fixtures';
import { killAll, startApi, startWorkerProcess, type ServiceProcess } from './processes';
import { TcpProxy, viaProxy } from './tcp-proxy';

/** One API process: its base URL and the process. */
export interface Api {
  url: string;
  port: number;
  proc: ServiceProcess;
}

/**
 * What one fault test file runs on: its own redis-server, its own key and queue prefixes on the
 * suite's database, optionally a cuttable proxy in front of Postgres, and the processes it starts.
 * `close()` kills every process, dumps Redis for the G7 scan and removes the server.
 */
export class FaultRig {
  readonly prefix = `f${randomUUID().slice(0, 8)}`;
  readonly db: Pool = openDb();
  redis!: PrivateRedis;
  proxy?: TcpProxy;
  private seq = 0;

  constructor(readonly label: string) {}

  static async start(label: string, options: { postgresProxy?: boolean } = {}): Promise<FaultRig> {
    const rig = new FaultRig(label);
    rig.redis = await PrivateRedis.start();
    if (options.postgresProxy) {
      const pg = new URL(faultsDatabaseUrl());
      rig.proxy = new TcpProxy('127.0.0.1', Number(pg.port || 5432));
      await rig.proxy.start();
    }
    return rig;
  }

  /** The environment of this rig's processes. */
  env(extra: Record<string, string> = {}): Record<string, string> {
    return {
      DATABASE_URL: this.proxy ? viaProxy(faultsDatabaseUrl(), this.proxy) : faultsDatabaseUrl(),
      REDIS_URL: this.redis.url,
      REDIS_KEY_PREFIX: this.prefix,
      QUEUE_PREFIX: `{${this.prefix}}`,
      MAIL_OUTBOX_FILE: `/tmp/latchkey-faults-mail-${this.prefix}.ndjson`,
      ...extra,
    };
  }

  async api(extra: Record<string, string> = {}): Promise<Api> {
    const port = await freePort();
    const proc = await startApi(`${this.label}-api${++this.seq}`, port, this.env(extra));
    return { url: `http://127.0.0.1:${port}`, port, proc };
  }

  async worker(extra: Record<string, string> = {}): Promise<ServiceProcess> {
    return startWorkerProcess(`${this.label}-worker${++this.seq}`, this.env(extra));
  }

  async close(): Promise<void> {
    await killAll();
    await this.proxy?.close();
    if (this.redis) {
      // A test may have left it stopped: start it again (only then) so its data can be dumped.
      const answering = await this.redis.cli('PING').then((r) => r === 'PONG', () => false);
      if (!answering) await this.redis.start().catch(() => undefined);
      await dumpRedis(this.redis.url, this.label).catch(() => undefined);
      await this.redis.destroy();
    }
    await this.db.end();
  }
}
