import { loadConfig } from '../../../shared/src/config/load-config';
import { createLogger } from '../../../shared/src/logging/logger';
import { createApp } from './app';
import { createDeps } from './deps';

/** API process: config -> connect -> migrate -> listen; SIGTERM drains in-flight requests. */
async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const logger = createLogger({ level: config.logLevel, service: 'api' });
  const deps = await createDeps(config, logger, { migrate: true });
  const server = createApp(deps).listen(config.port, () => logger.info({ port: config.port }, 'latchkey api listening'));
  server.keepAliveTimeout = 65_000;
  const shutdown = (signal: string) => {
    logger.info({ signal }, 'shutting down');
    server.close(() => void deps.close().finally(() => process.exit(0)));
    setTimeout(() => process.exit(0), 10_000).unref();
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
