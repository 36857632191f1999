import { randomUUID } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import supertest from 'supertest';
import type { Express } from 'express';
import { loadConfig, type Config } from '../../shared/src/config/load-config';
import { createLogger } from '../../shared/src/logging/logger';
import { createApp } from '../../services/api/src/app';
import { createDeps, type ApiDeps } from '../../services/api/src/deps';
import { TEST_ENV } from './test-env';
import { withTimeout } from '../../shared/src/util/with-timeout';
import { unlinkMatching } from '../../shared/src/redis/nodes';

export interface Harness {
  config: Config;
  deps: ApiDeps;
  app: Express;
  http: ReturnType<typeof supertest>;
  prefix: string;
  mailFile: string;
  close(): Promise<void>;
}

/** An API on the real Postgres and Redis with a key prefix and queue of its own. */
export async function startHarness(env: Record<string, string> = {}, options: { redisUrl?: string } = {}): Promise<Harness> {
  const prefix = `t${randomUUID().slice(0, 8)}`;
  const mailFile = path.join(os.tmpdir(), `latchkey-mail-${prefix}.ndjson`);
  const config = loadConfig({
    ...TEST_ENV,
    REDIS_KEY_PREFIX: prefix,
    QUEUE_PREFIX: `{${prefix}}`,
    MAIL_OUTBOX_FILE: mailFile,
    ...env,
  });
  const deps = await createDeps(config, createLogger({ level: 'silent', service: 'test' }), options);
  const app = createApp(deps);
  return {
    config,
    deps,
    app,
    http: supertest(app),
    prefix,
    mailFile,
    async close() {
      if (deps.redis.status === 'ready') {
        // Every master of a cluster; single-key deletes (a multi-key DEL across slots is refused).
        await unlinkMatching(deps.redis, `${prefix}:*`).catch(() => undefined);
        await withTimeout(deps.producer.queue.obliterate({ force: true }).catch(() => undefined), 5_000);
      }
      await deps.close();
    },
  };
}

export const PASSWORD = 'correct horse battery staple';

export function uniqueEmail(tag = 'user'): string {
  return `${tag}-${randomUUID().slice(0, 12)}@example.test`;
}
