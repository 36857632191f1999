import express, { type Express } from 'express';
import { buildEvent, createVerifier, requirePermission, type EventProducer, type RedisClient } from '../../../shared/src/kit';

/** What the example product backend needs to trust Latchkey: its URL, its Redis, its token names. */
export interface ProductBackendOptions {
  /** Latchkey's base URL (JWKS at `/.well-known/jwks.json`, introspection at `/v1/introspect`). */
  latchkeyUrl: string;
  redis: RedisClient;
  /** Latchkey's JWT_ISSUER, JWT_AUDIENCE and REDIS_KEY_PREFIX. */
  issuer: string;
  audience: string;
  keyPrefix: string;
  /** A service credential with the `introspect` scope, used only when Redis lacks a key. */
  introspectionCredential?: string;
  /** The typed producer on Latchkey's `security-events` queue. */
  producer: EventProducer;
}

/**
 * A small product backend ("reports"): it verifies Latchkey access tokens itself with the kit and
 * publishes a `membership.role_changed` event with the typed producer. It always takes the
 * organization from the verified token, never from the request, so a token for organization A can
 * never act in organization B.
 */
export function createProductBackend(options: ProductBackendOptions): Express {
  const app = express();
  app.use(express.json({ limit: '16kb' }));
  const verify = createVerifier({
    jwksUrl: `${options.latchkeyUrl}/.well-known/jwks.json`,
    redis: options.redis,
    issuer: options.issuer,
    audience: options.audience,
    keyPrefix: options.keyPrefix,
    ...(options.introspectionCredential
      ? { introspection: { url: `${options.latchkeyUrl}/v1/introspect`, credential: options.introspectionCredential } }
      : {}),
  });

  app.get('/reports', verify, requirePermission('reports:read'), (req, res) => {
    res.json({ organizationId: req.latchkey!.claims.org, reports: [{ id: 'q3', title: 'Quarterly revenue' }] });
  });

  app.post('/reports', verify, requirePermission('reports:write'), (req, res) => {
    res.status(201).json({ organizationId: req.latchkey!.claims.org, id: 'draft', createdBy: req.latchkey!.claims.sub });
  });

  // An admin of the current organization changes a teammate's role; Latchkey's worker applies it.
  app.put('/team/:userId/role', verify, requirePermission('members:manage'), async (req, res) => {
    const { sub, org } = req.latchkey!.claims;
    const role = typeof req.body?.role === 'string' ? req.body.role : '';
    let event;
    try {
      event = buildEvent({
        type: 'membership.role_changed',
        source: 'reports-backend',
        actor: { type: 'user', id: sub },
        data: { organizationId: org!, userId: String(req.params.userId), role },
      });
    } catch {
      return void res.status(400).json({ code: 'validation_failed' });
    }
    await options.producer.publish(event);
    res.status(202).json({ eventId: event.id });
  });

  return app;
}
