import express, { type RequestHandler } from 'express';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { createLogger } from '../../shared/src/logging/logger';
import { createDeps } from '../../services/api/src/deps';
import { authenticate } from '../../services/api/src/http/authenticate';
import { errorHandler } from '../../services/api/src/http/error-handler';
import { benchConfig } from '../lib/bench-env';
import { startCpuProfile } from '../lib/cpu-profile';

/**
 * One Express app, one GET route returning a small JSON body, guarded by the variant named in
 * VARIANT: none | jose | session | latchkey. Prints `READY {"port":N}` when listening.
 * REDIS_KEY_PREFIX (optional) shares the Redis state of API and worker processes started with it:
 * bench/revocation-lag runs this server as a product backend of theirs.
 */
async function main(): Promise<void> {
  const variant = process.env.VARIANT ?? 'none';
  const writeProfile = startCpuProfile();
  const config = benchConfig(process.env.REDIS_KEY_PREFIX ? { REDIS_KEY_PREFIX: process.env.REDIS_KEY_PREFIX } : {});
  const app = express();
  app.disable('x-powered-by');
  let guard: RequestHandler = (_req, _res, next) => next();
  let close = async () => undefined as unknown;
  const logger = createLogger({ level: 'silent', service: 'bench' });

  if (variant === 'jose' || variant === 'latchkey') {
    const deps = await createDeps(config, logger);
    close = () => deps.close();
    if (variant === 'latchkey') {
      guard = authenticate(deps.verifier);
    } else {
      // Stateless verification only: no revocation, no cache; the reference "jose ES256, nothing else".
      const jwks = createLocalJWKSet(deps.keyRing.publicJwks());
      guard = async (req, res, next) => {
        try {
          const token = (req.get('authorization') ?? '').slice(7);
          await jwtVerify(token, jwks, { algorithms: ['ES256'], issuer: config.jwt.issuer, audience: config.jwt.audience, typ: 'at+jwt' });
          next();
        } catch {
          res.status(401).end();
        }
      };
    }
  } else if (variant === 'session') {
    const [{ default: session }, { RedisStore }, { createClient }] = await Promise.all([
      import('express-session'),
      import('connect-redis'),
      import('redis'),
    ]);
    const client = createClient({ url: config.redisUrl });
    await client.connect();
    close = () => client.quit();
    app.use(session({ store: new RedisStore({ client, prefix: 'lkbench:sess:' }), resave: false, saveUninitialized: false, secret: 'bench secret of sufficient length' }));
    app.post('/__login', (req, res) => {
      (req.session as unknown as { userId: string }).userId = 'bench-user';
      res.status(204).end();
    });
    guard = (req, res, next) => ((req.session as unknown as { userId?: string }).userId ? next() : res.status(401).end());
  }

  app.get('/__rss', (_req, res) => {
    res.json({ rss: process.memoryUsage().rss });
  });
  app.get('/resource', guard, (_req, res) => {
    res.json({ ok: true, items: [1, 2, 3] });
  });
  // A refused token is answered as the API answers it (problem+json, 401 and the contract's code).
  app.use(errorHandler(logger));
  const server = app.listen(0, '127.0.0.1', () => {
    const address = server.address();
    process.stdout.write(`READY ${JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0 })}\n`);
  });
  process.on('SIGTERM', () => {
    server.close();
    void writeProfile()
      .then(() => close())
      .finally(() => process.exit(0));
  });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
