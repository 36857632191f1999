import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Worker } from 'bullmq';
import type { Config } from '../../shared/src/config/load-config';
import { EventProducer, SECURITY_EVENTS_QUEUE } from '../../shared/src/events/producer';
import { createLogger, type Logger } from '../../shared/src/logging/logger';
import type { MailTransport } from '../../shared/src/mail/mailer';
import { createRedis } from '../../shared/src/redis/client';
import { dropExpiredSuccessors } from '../../shared/src/security/refresh-successors';
import { createHandlerContext } from './context';
import type { HandlerContext, HandlerRegistry } from './handler';
import { createWorkerMetrics, type WorkerMetrics } from './metrics';
import { AUDIT_MAINTENANCE_INTERVAL_MS, runAuditMaintenance } from './audit-maintenance';
import { relayPendingEvents } from './outbox-relay';
import { processJob } from './process-event';
import { HANDLERS, checkRegistry } from './registry';

export interface StartWorkerOptions {
  logger?: Logger;
  /** Overrides config.redisUrl (tests). */
  redisUrl?: string;
  mailer?: MailTransport;
  registry?: HandlerRegistry;
  /** How often the outbox relay sweeps (ms); default 1 s. */
  relayIntervalMs?: number;
  /** How often sealed refresh successors past the grace window are dropped (ms); default 60 s. */
  maintenanceIntervalMs?: number;
}

/** A running worker process (or an in-process one in tests). */
export interface RunningWorker {
  worker: Worker;
  ctx: HandlerContext;
  metrics: WorkerMetrics;
  /** The port of the worker's /metrics server, when one was started. */
  metricsPort?: number;
  /** One relay sweep now (the timer runs them anyway). */
  relayOnce(): Promise<number>;
  close(): Promise<void>;
}

/**
 * Starts the security-events worker: one BullMQ Worker on SECURITY_EVENTS_QUEUE, the outbox relay,
 * the periodic maintenance and, when configured, a /metrics endpoint. `close()` stops taking jobs,
 * waits for the active ones (graceful SIGTERM) and closes every connection.
 */
export async function startWorker(config: Config, options: StartWorkerOptions = {}): Promise<RunningWorker> {
  const registry = options.registry ?? HANDLERS;
  checkRegistry(registry);
  const logger = options.logger ?? createLogger({ level: config.logLevel, service: 'worker' });
  const redisUrl = options.redisUrl ?? config.redisUrl;
  const ctx = createHandlerContext(config, logger, { redisUrl, mailer: options.mailer });
  const metrics = createWorkerMetrics();
  const lockDuration = config.worker.lockDurationSeconds * 1000;

  // BullMQ does not close connections it was given: they are disconnected in close().
  const workerRedis = createRedis(redisUrl, 'worker');
  const relayRedis = createRedis(redisUrl, 'request');
  const worker = new Worker(SECURITY_EVENTS_QUEUE, (job) => processJob(job, ctx, metrics, registry), {
    connection: workerRedis,
    prefix: config.queuePrefix,
    concurrency: config.worker.concurrency,
    lockDuration,
    stalledInterval: lockDuration,
    // A SIGKILLed worker leaves its jobs stalled; allow several crashes before giving a job up.
    maxStalledCount: 10,
    autorun: true,
  });
  worker.on('error', (err) => logger.error({ err: String(err) }, 'worker error'));

  // The relay publishes through a fail-fast connection: if Redis is down the sweep fails and retries.
  const relayProducer = new EventProducer(relayRedis, config.queuePrefix);
  let relaying: Promise<number> | undefined;
  const relayOnce = () => {
    relaying ??= relayPendingEvents(ctx.db, relayProducer, logger, config.worker.relayDelaySeconds)
      .then((n) => {
        if (n) metrics.relayed.inc(n);
        return n;
      })
      .finally(() => {
        relaying = undefined;
      });
    return relaying;
  };
  const relayTimer = setInterval(() => {
    relayOnce().catch((err: unknown) => logger.warn({ err: String(err) }, 'outbox relay sweep failed'));
  }, options.relayIntervalMs ?? 1_000);
  const maintenanceTimer = setInterval(() => {
    dropExpiredSuccessors(ctx.db, config.refresh.graceSeconds).catch((err: unknown) =>
      logger.warn({ err: String(err) }, 'dropping expired refresh successors failed'),
    );
  }, options.maintenanceIntervalMs ?? 60_000);
  // Records staged by a process that died before chaining them: any worker's next drain links them.
  const chainTimer = setInterval(() => {
    ctx.auditChain.flushed().catch((err: unknown) => logger.warn({ err: String(err) }, 'audit chain drain failed'));
  }, options.relayIntervalMs ?? 1_000);
  const auditMaintenance = () =>
    runAuditMaintenance(ctx.db, config, logger).catch((err: unknown) => logger.warn({ err: String(err) }, 'audit maintenance failed'));
  void auditMaintenance();
  const auditTimer = setInterval(auditMaintenance, AUDIT_MAINTENANCE_INTERVAL_MS);
  auditTimer.unref();
  relayTimer.unref();
  chainTimer.unref();
  maintenanceTimer.unref();

  let server: Server | undefined;
  let metricsPort: number | undefined;
  if (config.worker.metricsPort !== undefined) {
    server = createServer((req, res) => {
      if (req.url !== '/metrics') {
        res.writeHead(404).end();
        return;
      }
      metrics.registry.metrics().then(
        (body) => res.writeHead(200, { 'Content-Type': metrics.registry.contentType }).end(body),
        () => res.writeHead(500).end(),
      );
    });
    await new Promise<void>((resolve) => server!.listen(config.worker.metricsPort, resolve));
    metricsPort = (server.address() as AddressInfo).port;
  }

  await worker.waitUntilReady();
  logger.info({ queue: SECURITY_EVENTS_QUEUE, prefix: config.queuePrefix, concurrency: config.worker.concurrency }, 'worker started');

  let closing: Promise<void> | undefined;
  return {
    worker,
    ctx,
    metrics,
    metricsPort,
    relayOnce,
    close() {
      closing ??= (async () => {
        clearInterval(relayTimer);
        clearInterval(chainTimer);
        clearInterval(maintenanceTimer);
        clearInterval(auditTimer);
        await worker.close();
        await relaying?.catch(() => undefined);
        await relayProducer.close().catch(() => undefined);
        workerRedis.disconnect();
        relayRedis.disconnect();
        if (server) await new Promise((resolve) => server!.close(resolve));
        await ctx.close();
      })();
      return closing;
    },
  };
}
