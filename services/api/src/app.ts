import cookieParser from 'cookie-parser';
import express, { type Express } from 'express';
import helmet from 'helmet';
import type { ApiDeps } from './deps';
import { cors } from './http/cors';
import { errorHandler, notFound } from './http/error-handler';
import { requestTimer, routerPrefix } from './http/metrics';
import { registerOperationalMetrics } from './http/operational-metrics';
import { noStore } from './http/no-store';
import { requestId } from './http/request-id';
import { storableUrl } from './http/storable-url';
import { auditRoutes } from './modules/audit/audit.routes';
import { authRoutes } from './modules/auth/auth.routes';
import { browserRoutes } from './modules/browser/browser.routes';
import { consoleRoutes } from './modules/console/console.routes';
import { eventsRoutes } from './modules/events/events.routes';
import { healthRoutes } from './modules/health/health.routes';
import { introspectRoutes } from './modules/introspect/introspect.routes';
import { jwksRoutes } from './modules/keys/jwks.routes';
import { mfaRoutes } from './modules/mfa/mfa.routes';
import { openApiRoutes } from './modules/openapi/openapi.routes';
import { meRoutes } from './modules/me/me.routes';
import { passwordsRoutes } from './modules/passwords/passwords.routes';
import { organizationsRoutes } from './modules/organizations/organizations.routes';
import { sessionsRoutes } from './modules/sessions/sessions.routes';

/** The Express application, without `listen` (tests drive it with supertest). */
export function createApp(deps: ApiDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', deps.config.trustProxy);
  app.set('query parser', 'simple');
  app.use(requestId);
  app.use(requestTimer(deps.metrics));
  app.use(
    helmet({
      contentSecurityPolicy: {
        useDefaults: true,
        directives: { 'script-src': ["'self'"], 'style-src': ["'self'"], 'connect-src': ["'self'"], 'frame-ancestors': ["'none'"] },
      },
    }),
  );
  app.use(cors(deps.config.allowedOrigins));
  app.use(cookieParser(deps.config.cookieSecret));
  app.use(storableUrl);

  app.use(healthRoutes(deps));
  app.use(openApiRoutes(deps));
  registerOperationalMetrics(deps);
  app.get('/metrics', async (_req, res) => {
    res.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });
  app.use('/.well-known', routerPrefix, jwksRoutes(deps));
  app.use('/auth', noStore);
  app.use('/auth/mfa', routerPrefix, mfaRoutes(deps));
  app.use('/auth', routerPrefix, authRoutes(deps));
  app.use('/auth', routerPrefix, passwordsRoutes(deps));
  app.use('/me', routerPrefix, meRoutes(deps));
  app.use('/sessions', routerPrefix, sessionsRoutes(deps));
  app.use('/v1/introspect', routerPrefix, introspectRoutes(deps));
  app.use('/v1/organizations', routerPrefix, organizationsRoutes(deps));
  app.use('/v1/events', routerPrefix, eventsRoutes(deps));
  app.use('/v1/audit-logs', routerPrefix, auditRoutes(deps));
  app.use(routerPrefix, browserRoutes());
  app.use(routerPrefix, consoleRoutes(deps));

  app.use(notFound);
  app.use(errorHandler(deps.logger.child({ module: 'http' })));
  return app;
}
