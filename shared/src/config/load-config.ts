import { z } from 'zod';
import { clusterUrlFromNodes, isClusterUrl, parseNodeList, parseRedisTarget } from '../redis/redis-target';
import { SIGNING_ALGORITHMS } from '../tokens/algorithms';

const DAY = 86_400;

const bool = z
  .enum(['true', 'false', '1', '0', ''])
  .optional()
  .transform((v) => v === 'true' || v === '1');

const seconds = (min: number, max: number, fallback: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

const schema = z
  .object({
    NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
    PORT: z.coerce.number().int().min(0).max(65535).default(3000),
    PUBLIC_URL: z.string().url().optional(),
    DATABASE_URL: z.string().default('postgres://postgres@127.0.0.1:5432/latchkey'),
    DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(200).default(20),
    // One server (`redis://`, `rediss://`) or a Redis Cluster (`redis+cluster://host:port,host:port`).
    REDIS_URL: z.string().default('redis://127.0.0.1:6379'),
    // A Redis Cluster's seed nodes, `host:port,host:port` (takes REDIS_URL's credentials and TLS).
    REDIS_CLUSTER_NODES: z.string().optional(),
    REDIS_KEY_PREFIX: z.string().regex(/^[a-z0-9_-]{1,32}$/).default('lk'),
    QUEUE_PREFIX: z.string().regex(/^\{[a-z0-9_-]{1,32}\}$/).default('{lkq}'),
    JWT_ISSUER: z.string().min(1).optional(),
    JWT_AUDIENCE: z.string().min(1).default('latchkey'),
    JWT_ALGORITHM: z.enum(SIGNING_ALGORITHMS).default('ES256'),
    KEY_ENCRYPTION_SECRET: z.string().min(32).optional(),
    KEY_VERIFY_WINDOW: seconds(900, 90 * DAY, 2 * DAY),
    ACCESS_TOKEN_TTL: seconds(60, 900, 600),
    // From one second: short lifetimes are how expiry is tried out and tested.
    REFRESH_IDLE_TTL: seconds(1, 365 * DAY, 14 * DAY),
    REFRESH_ABSOLUTE_TTL: seconds(1, 365 * DAY, 30 * DAY),
    REFRESH_GRACE_SECONDS: seconds(0, 60, 10),
    ALLOWED_ORIGINS: z.string().optional(),
    REQUIRE_EMAIL_VERIFICATION: bool,
    RATE_LIMIT_SCALE: z.coerce.number().positive().max(1_000_000).default(1),
    MAIL_TRANSPORT: z.enum(['file', 'log', 'none']).optional(),
    MAIL_OUTBOX_FILE: z.string().default('.data/mail.ndjson'),
    COOKIE_SECRET: z.string().min(32).optional(),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    TRUST_PROXY: z.string().default('loopback'),
    // Worker process: jobs processed in parallel, seconds before the outbox relay re-enqueues a
    // pending event, and an optional port serving the worker's own /metrics (unset: no server).
    WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(64),
    OUTBOX_RELAY_DELAY: seconds(1, 3600, 5),
    WORKER_METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
    // How long a worker holds a job before another may take it over (after a crash or SIGKILL).
    WORKER_LOCK_DURATION: seconds(2, 600, 30),
    // Audit log retention in whole months before the current one; older monthly partitions are
    // dropped (the chain stays verifiable through an anchor). 0 keeps every record forever.
    AUDIT_RETENTION_MONTHS: z.coerce.number().int().min(0).max(1200).default(0),
  })
  .superRefine((env, ctx) => {
    for (const [name, check] of [
      ['REDIS_URL', () => isClusterUrl(env.REDIS_URL) && parseRedisTarget(env.REDIS_URL)],
      ['REDIS_CLUSTER_NODES', () => env.REDIS_CLUSTER_NODES && parseNodeList(env.REDIS_CLUSTER_NODES)],
    ] as const) {
      try {
        check();
      } catch (err) {
        ctx.addIssue({ code: 'custom', path: [name], message: (err as Error).message });
      }
    }
    if (env.REFRESH_IDLE_TTL > env.REFRESH_ABSOLUTE_TTL) {
      ctx.addIssue({ code: 'custom', path: ['REFRESH_IDLE_TTL'], message: 'must not exceed REFRESH_ABSOLUTE_TTL' });
    }
    if (env.NODE_ENV === 'production') {
      for (const name of ['KEY_ENCRYPTION_SECRET', 'COOKIE_SECRET', 'PUBLIC_URL'] as const) {
        if (!env[name]) ctx.addIssue({ code: 'custom', path: [name], message: 'is required in production' });
      }
    }
  });

/** The validated, frozen configuration every process runs on. */
export type Config = Readonly<ReturnType<typeof toConfig>>;

/** Raised with every bad variable named at once, so an operator fixes them in one go. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

// Development-only fallbacks: production refuses to start without real secrets (superRefine).
const DEV_KEY_SECRET = 'latchkey-development-key-encryption-secret-not-for-production';
const DEV_COOKIE_SECRET = 'latchkey-development-cookie-secret-not-for-production';

function toConfig(env: z.output<typeof schema>) {
  const publicUrl = (env.PUBLIC_URL ?? `http://localhost:${env.PORT}`).replace(/\/$/, '');
  const origins = (env.ALLOWED_ORIGINS ?? publicUrl)
    .split(',')
    .map((o) => o.trim().replace(/\/$/, ''))
    .filter(Boolean);
  return {
    env: env.NODE_ENV,
    isProduction: env.NODE_ENV === 'production',
    port: env.PORT,
    publicUrl,
    databaseUrl: env.DATABASE_URL,
    databasePoolMax: env.DATABASE_POOL_MAX,
    /** The effective Redis URL; a cluster is in the `redis+cluster://` form (see redis-target.ts). */
    redisUrl: env.REDIS_CLUSTER_NODES ? clusterUrlFromNodes(env.REDIS_CLUSTER_NODES, env.REDIS_URL) : env.REDIS_URL,
    redisCluster: Boolean(env.REDIS_CLUSTER_NODES) || isClusterUrl(env.REDIS_URL),
    redisKeyPrefix: env.REDIS_KEY_PREFIX,
    queuePrefix: env.QUEUE_PREFIX,
    jwt: {
      issuer: env.JWT_ISSUER ?? publicUrl,
      audience: env.JWT_AUDIENCE,
      algorithm: env.JWT_ALGORITHM,
      accessTtl: env.ACCESS_TOKEN_TTL,
      keyVerifyWindow: env.KEY_VERIFY_WINDOW,
      keyEncryptionSecret: env.KEY_ENCRYPTION_SECRET ?? DEV_KEY_SECRET,
    },
    refresh: {
      idleTtl: env.REFRESH_IDLE_TTL,
      absoluteTtl: env.REFRESH_ABSOLUTE_TTL,
      graceSeconds: env.REFRESH_GRACE_SECONDS,
    },
    allowedOrigins: origins,
    requireEmailVerification: env.REQUIRE_EMAIL_VERIFICATION,
    rateLimitScale: env.RATE_LIMIT_SCALE,
    mail: {
      transport: env.MAIL_TRANSPORT ?? (env.NODE_ENV === 'production' ? 'log' : 'file'),
      outboxFile: env.MAIL_OUTBOX_FILE,
    },
    cookieSecret: env.COOKIE_SECRET ?? DEV_COOKIE_SECRET,
    logLevel: env.LOG_LEVEL,
    trustProxy: env.TRUST_PROXY,
    worker: {
      concurrency: env.WORKER_CONCURRENCY,
      relayDelaySeconds: env.OUTBOX_RELAY_DELAY,
      metricsPort: env.WORKER_METRICS_PORT,
      lockDurationSeconds: env.WORKER_LOCK_DURATION,
    },
    audit: {
      retentionMonths: env.AUDIT_RETENTION_MONTHS,
    },
  };
}

/**
 * Reads configuration from an environment map. Pure: only `main.ts` files pass `process.env`.
 * Empty strings count as unset, so `FOO=` in a .env file falls back to the default.
 */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse(cleaned);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.') || '(env)'}: ${i.message}`));
  }
  return Object.freeze(toConfig(parsed.data));
}
