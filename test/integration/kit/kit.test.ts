import express from 'express';
import Redis from 'ioredis';
import supertest from 'supertest';
import { createVerifier, requirePermission, type VerifierMiddleware } from '../../../shared/src/kit';
import { refresh, signIn } from '../../support/browser-session';
import { startHarness, type Harness } from '../../support/harness';
import { applyEvent, bearer, createOrganization, memberSignedIn, serviceCredential } from '../organizations/fixtures';
import { dropUserKeys, listen } from './kit-support';
import { unlinkMatching } from '../../../shared/src/redis/nodes';

/** The product-backend kit against a listening Latchkey, its Redis, and its introspection. */
let h: Harness;
let latchkey: Awaited<ReturnType<typeof listen>>;
let writer: string;
let introspector: string;
let org: string;

beforeAll(async () => {
  h = await startHarness();
  latchkey = await listen(h);
  writer = await serviceCredential(['organizations:write', 'organizations:read']);
  introspector = await serviceCredential(['introspect']);
  org = await createOrganization(h, writer);
});
afterAll(async () => {
  await latchkey.close();
  await h.close();
});

/** Every productApp() is a verifier of its own, watching the shared client: closed after each test. */
const verifiers: VerifierMiddleware[] = [];
afterEach(() => verifiers.splice(0).forEach((v) => v.verifier.close()));

function productApp(options: { introspection?: boolean; redis?: Redis; keys?: boolean } = {}) {
  const verify: VerifierMiddleware = createVerifier({
    ...(options.keys ? { keys: h.deps.keyRing.publicJwks() } : { jwksUrl: `${latchkey.url}/.well-known/jwks.json` }),
    redis: options.redis ?? h.deps.redis,
    issuer: h.config.jwt.issuer,
    audience: h.config.jwt.audience,
    keyPrefix: h.prefix,
    ...(options.introspection === false ? {} : { introspection: { url: `${latchkey.url}/v1/introspect`, credential: introspector } }),
  });
  verifiers.push(verify);
  const app = express();
  app.get('/whoami', verify, (req, res) => void res.json(req.latchkey!.claims));
  app.get('/reports', verify, requirePermission('reports:read'), (_req, res) => void res.json({ ok: true }));
  app.post('/reports', verify, requirePermission('reports:write'), (_req, res) => void res.status(201).json({ ok: true }));
  return supertest(app);
}

describe('createVerifier', () => {
  it('accepts a valid token (JWKS over HTTP or local keys) and exposes its claims', async () => {
    const s = await memberSignedIn(h, writer, org, 'member');
    for (const app of [productApp(), productApp({ keys: true })]) {
      const res = await app.get('/whoami').set('Authorization', bearer(s.accessToken));
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ sub: s.userId, sid: s.sessionId, org });
    }
  });

  it('refuses a missing, malformed or tampered token with 401 and WWW-Authenticate', async () => {
    const app = productApp();
    const s = await signIn(h);
    const none = await app.get('/whoami');
    expect(none.status).toBe(401);
    expect(none.body.code).toBe('invalid_token');
    const [head, payload, sig] = s.accessToken.split('.');
    const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload!, 'base64url').toString()), sub: '00000000-0000-4000-8000-000000000000' })).toString('base64url');
    const tampered = await app.get('/whoami').set('Authorization', bearer(`${head}.${forged}.${sig}`));
    expect(tampered.status).toBe(401);
    expect(tampered.body.code).toBe('invalid_token');
    expect(tampered.headers['www-authenticate']).toBe('Bearer error="invalid_token", error_description="invalid_token"');
  });

  it("answers the contract's problem+json, with the caller's request id or a new one, echoed", async () => {
    const app = productApp();
    const traced = await app.get('/whoami').set('X-Request-Id', 'trace-42');
    expect(traced.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(traced.body).toEqual({ type: 'https://latchkey.dev/problems/invalid-token', title: expect.any(String), status: 401, code: 'invalid_token', requestId: 'trace-42' });
    expect(traced.headers['x-request-id']).toBe('trace-42');
    const fresh = await app.get('/whoami').set('X-Request-Id', 'not valid!');
    expect(fresh.body.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(fresh.headers['x-request-id']).toBe(fresh.body.requestId);
  });

  it('refuses a token of a session that logged out, at once', async () => {
    const app = productApp();
    const s = await signIn(h);
    expect((await app.get('/whoami').set('Authorization', bearer(s.accessToken))).status).toBe(200);
    const out = await h.http.post('/auth/logout').set('Authorization', bearer(s.accessToken));
    expect(out.status).toBe(204);
    const res = await app.get('/whoami').set('Authorization', bearer(s.accessToken));
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('session_revoked');
  });

  it('on a Redis miss asks Latchkey (introspection), which fills Redis; the exact refusal code survives', async () => {
    const app = productApp();
    const s = await memberSignedIn(h, writer, org, 'member');
    await dropUserKeys(h, s.userId);
    expect((await app.get('/whoami').set('Authorization', bearer(s.accessToken))).status).toBe(200);
    expect(await h.deps.redis.exists(h.deps.keys.user(s.userId))).toBe(1);

    await applyEvent(h, 'membership.role_changed', { organizationId: org, userId: s.userId, role: 'viewer' });
    await dropUserKeys(h, s.userId);
    const stale = await app.get('/whoami').set('Authorization', bearer(s.accessToken));
    expect(stale.status).toBe(401);
    expect(stale.body.code).toBe('permissions_stale');
  });

  it('never accepts on a miss without introspection: 503', async () => {
    const app = productApp({ introspection: false });
    const s = await signIn(h);
    await dropUserKeys(h, s.userId);
    const res = await app.get('/whoami').set('Authorization', bearer(s.accessToken));
    expect(res.status).toBe(503);
    expect(res.body.code).toBe('service_unavailable');
  });

  it('with its Redis unreachable falls back to introspection, and fails closed without it', async () => {
    const dead = new Redis('redis://127.0.0.1:1', { enableOfflineQueue: false, maxRetriesPerRequest: 0, lazyConnect: true, retryStrategy: () => null });
    dead.on('error', () => undefined);
    const s = await signIn(h);
    expect((await productApp({ redis: dead }).get('/whoami').set('Authorization', bearer(s.accessToken))).status).toBe(200);
    const closed = await productApp({ redis: dead, introspection: false }).get('/whoami').set('Authorization', bearer(s.accessToken));
    expect(closed.status).toBe(503);
    await h.http.post('/auth/logout').set('Authorization', bearer(s.accessToken));
    const revoked = await productApp({ redis: dead }).get('/whoami').set('Authorization', bearer(s.accessToken));
    expect(revoked.status).toBe(401);
    dead.disconnect();
  });

  it('does not trust a Redis server Latchkey has not validated (restored from a snapshot, say) until Latchkey has', async () => {
    const s = await signIn(h);
    expect((await h.http.get('/me').set('Authorization', bearer(s.accessToken))).status).toBe(200); // fills Redis
    const sessionKey = h.deps.keys.session(s.userId, s.sessionId);
    const live = (await h.deps.redis.get(sessionKey))!;
    await h.http.post('/auth/logout').set('Authorization', bearer(s.accessToken));
    // As after a restore from a snapshot taken before the logout: the session shows live again, and
    // the server's run id is not among those Latchkey validated (and dropped the state of).
    const record = h.deps.keys.validatedInstance();
    const validated = (await h.deps.redis.get(record))!;
    expect(validated).toBeTruthy();
    await h.deps.redis.set(sessionKey, live);
    await h.deps.redis.set(record, 'a-server-restored-elsewhere');
    try {
      const unvalidated = await productApp({ introspection: false }).get('/whoami').set('Authorization', bearer(s.accessToken));
      expect(unvalidated.status).toBe(503);
      // The kit only reads: Latchkey's record and the state stay as they were.
      expect(await h.deps.redis.get(record)).toBe('a-server-restored-elsewhere');
      expect(await h.deps.redis.get(sessionKey)).toBe(live);
    } finally {
      await h.deps.redis.set(record, validated);
    }
    // Once Latchkey's record names the server again, the kit trusts its state (re-checked every 500 ms).
    const t = await signIn(h);
    expect((await h.http.get('/me').set('Authorization', bearer(t.accessToken))).status).toBe(200); // fills Redis
    const app = productApp({ introspection: false });
    let status = 0;
    for (let i = 0; i < 40 && status !== 200; i++) {
      status = (await app.get('/whoami').set('Authorization', bearer(t.accessToken))).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toBe(200);
  });
});

describe('KitVerifier.close', () => {
  it("leaves the caller's Redis client with the listeners it had", () => {
    const before = ['close', 'ready'].map((e) => h.deps.redis.listenerCount(e));
    const many = Array.from({ length: 5 }, () => productApp());
    expect(many).toHaveLength(5);
    expect(h.deps.redis.listenerCount('ready')).toBeGreaterThan(before[1]!);
    verifiers.splice(0).forEach((v) => v.verifier.close());
    expect(['close', 'ready'].map((e) => h.deps.redis.listenerCount(e))).toEqual(before);
  });
});

describe('requirePermission', () => {
  it('grants by role, 403 forbidden when missing, 403 without organization context', async () => {
    const app = productApp();
    const viewer = await memberSignedIn(h, writer, org, 'viewer');
    expect((await app.get('/reports').set('Authorization', bearer(viewer.accessToken))).status).toBe(200);
    const write = await app.post('/reports').set('Authorization', bearer(viewer.accessToken));
    expect(write.status).toBe(403);
    expect(write.body.code).toBe('forbidden');
    const plain = await signIn(h);
    expect((await app.get('/reports').set('Authorization', bearer(plain.accessToken))).status).toBe(403);
  });

  it('role downgrade: permissions_stale, then after refresh the new permissions apply', async () => {
    const app = productApp();
    const s = await memberSignedIn(h, writer, org, 'member');
    expect((await app.post('/reports').set('Authorization', bearer(s.accessToken))).status).toBe(201);
    await applyEvent(h, 'membership.role_changed', { organizationId: org, userId: s.userId, role: 'viewer' });
    const stale = await app.post('/reports').set('Authorization', bearer(s.accessToken));
    expect(stale.status).toBe(401);
    expect(stale.body.code).toBe('permissions_stale');
    expect((await refresh(h, s)).status).toBe(200);
    expect((await app.post('/reports').set('Authorization', bearer(s.accessToken))).status).toBe(403);
    expect((await app.get('/reports').set('Authorization', bearer(s.accessToken))).status).toBe(200);
  });

  it('reads permissions missing from Redis through introspection', async () => {
    const app = productApp();
    const s = await memberSignedIn(h, writer, org, 'member');
    await unlinkMatching(h.deps.redis, `${h.prefix}:{m:*}:perm:*`);
    expect((await app.post('/reports').set('Authorization', bearer(s.accessToken))).status).toBe(201);
    const noFallback = productApp({ introspection: false });
    const other = await memberSignedIn(h, writer, org, 'member');
    const res = await noFallback.post('/reports').set('Authorization', bearer(other.accessToken));
    expect(res.status).toBe(503);
  });

  it('after removal the member has no access in that organization', async () => {
    const app = productApp();
    const s = await memberSignedIn(h, writer, org, 'member');
    await applyEvent(h, 'membership.removed', { organizationId: org, userId: s.userId });
    const res = await app.get('/reports').set('Authorization', bearer(s.accessToken));
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('membership_inactive');
    expect((await refresh(h, s)).status).toBe(401);
  });
});
