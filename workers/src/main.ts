import { loadConfig } from '../../shared/src/config/load-config';
import { createLogger } from '../../shared/src/logging/logger';
import { startWorker } from './worker';

/** Worker process: config -> worker + relay + maintenance; SIGTERM finishes active jobs, then exits. */
async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const logger = createLogger({ level: config.logLevel, service: 'worker' });
  const running = await startWorker(config, { logger });
  const shutdown = (signal: string) => {
    logger.info({ signal }, 'worker shutting down');
    setTimeout(() => process.exit(1), 30_000).unref();
    running.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
