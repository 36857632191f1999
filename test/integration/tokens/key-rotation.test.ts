import { randomUUID } from 'node:crypto';
import { decodeProtectedHeader, generateKeyPair, SignJWT } from 'jose';
import { QueryTypes, type Sequelize } from 'sequelize';
import { COMMANDS } from '../../../services/cli/src/commands';
import { createDatabase } from '../../../shared/src/db/connection';
import { createLogger } from '../../../shared/src/logging/logger';
import { SignatureVerifier, signAccessToken } from '../../../shared/src/tokens/access-token';
import { KeyRing, type KeyRingOptions } from '../../../shared/src/tokens/key-ring';
import { LISTENER_APPLICATION_NAME } from '../../../shared/src/tokens/signing-key-notices';
import * as signingKeys from '../../../shared/src/tokens/signing-keys';
import { KitVerifier } from '../../../shared/src/kit/kit-verifier';
import { signIn } from '../../support/browser-session';
import { listen } from '../kit/kit-support';
import { startHarness, type Harness } from '../../support/harness';
import { createOwnDatabase } from '../../support/own-database';

jest.setTimeout(60_000);

// Rotation changes the keys every API on the database signs with (at once, which is the point):
// a database of its own, so other test files keep the keys they hold.
let own: Awaited<ReturnType<typeof createOwnDatabase>>;
let h: Harness;
/** The CLI's own connection pool, as a separate `npm run cli -- keys rotate` process has. */
let cliDb: Sequelize;

beforeAll(async () => {
  own = await createOwnDatabase('key_rotation');
  h = await startHarness({ DATABASE_URL: own.url });
  cliDb = createDatabase(h.config, 2);
});
afterAll(async () => {
  await cliDb?.close();
  await h?.close();
  await own?.drop().catch(() => undefined);
});

/** `npm run cli -- keys rotate`, run through the CLI's own command; returns the new kid. */
async function rotateLikeCli(): Promise<string> {
  const lines: string[] = [];
  const command = COMMANDS.find((c) => c.name === 'keys rotate')!;
  const code = await command.run({
    config: h.config,
    db: cliDb,
    flags: {},
    logger: createLogger({ level: 'silent', service: 'cli' }),
    out: (line) => lines.push(line),
  });
  expect(code).toBe(0);
  return /signing key (\S+)/.exec(lines.join('\n'))![1]!;
}

const kidOf = (token: string) => decodeProtectedHeader(token).kid!;

/** Polls `check` every 20 ms for up to `ms` (the bound the contract's "at once" gets here). */
async function within<T>(ms: number, check: () => Promise<T | undefined>): Promise<T | undefined> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function publishedKids(): Promise<string[]> {
  const res = await h.http.get('/.well-known/jwks.json').expect(200);
  return (res.body.keys as { kid: string }[]).map((k) => k.kid);
}

async function listenerPid(): Promise<number | undefined> {
  const rows = await cliDb.query<{ pid: number }>(
    'SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = :name',
    { type: QueryTypes.SELECT, replacements: { name: LISTENER_APPLICATION_NAME } },
  );
  return rows[0]?.pid;
}

describe('keys rotate, seen by a running API', () => {
  it('publishes the new kid beside the old one, signs new sign-ins with it, and still verifies old tokens', async () => {
    const before = await signIn(h);
    const oldKid = kidOf(before.accessToken);

    const newKid = await rotateLikeCli();
    const kids = await within(2_000, async () => {
      const published = await publishedKids();
      return published.includes(newKid) ? published : undefined;
    });
    expect(kids).toEqual(expect.arrayContaining([newKid, oldKid]));

    const after = await signIn(h, { email: before.email });
    expect(kidOf(after.accessToken)).toBe(newKid);
    // The old token was never verified before the rotation, so this checks it against the retired key.
    await h.http.get('/me').set('Authorization', `Bearer ${before.accessToken}`).expect(200);
    await h.http.get('/me').set('Authorization', `Bearer ${after.accessToken}`).expect(200);
  });

  it('lets caches keep the JWKS only while it is unchanged (revalidated on every use)', async () => {
    const first = await h.http.get('/.well-known/jwks.json').expect(200);
    expect(first.headers['cache-control']).toBe('public, no-cache');
    const etag = first.headers.etag as string;
    await h.http.get('/.well-known/jwks.json').set('If-None-Match', etag).expect(304);
    await rotateLikeCli();
    const changed = await within(2_000, async () => {
      const res = await h.http.get('/.well-known/jwks.json').set('If-None-Match', etag);
      return res.status === 200 ? res : undefined;
    });
    expect(changed?.headers.etag).not.toBe(etag);
  });

  it('a product backend verifying with the JWKS over HTTP accepts a token whose key was rotated in after its last fetch', async () => {
    const latchkey = await listen(h);
    try {
      const kit = new KitVerifier({
        jwksUrl: `${latchkey.url}/.well-known/jwks.json`,
        redis: h.deps.redis,
        issuer: h.config.jwt.issuer,
        audience: h.config.jwt.audience,
        keyPrefix: h.prefix,
      });
      const before = await signIn(h);
      await h.http.get('/me').set('Authorization', `Bearer ${before.accessToken}`).expect(200); // state in Redis
      // The kit fetches the JWKS for its first token; then, well inside its refetch interval, Latchkey rotates.
      await kit.verify(before.accessToken).catch(() => undefined);
      const newKid = await rotateLikeCli();
      const after = await within(2_000, async () => {
        const s = await signIn(h, { email: before.email });
        return kidOf(s.accessToken) === newKid ? s : undefined;
      });
      await h.http.get('/me').set('Authorization', `Bearer ${after!.accessToken}`).expect(200);
      const claims = await kit.verify(after!.accessToken);
      expect(claims.sid).toBe(after!.sessionId);
    } finally {
      await latchkey.close();
    }
  });

  it('reconnects its notice connection by itself and catches up on what it missed meanwhile', async () => {
    const newKid = await rotateLikeCli();
    expect(await within(2_000, async () => ((await publishedKids()).includes(newKid) ? true : undefined))).toBe(true);
    const retired = (await publishedKids()).filter((kid) => kid !== newKid);
    expect(retired.length).toBeGreaterThan(0);

    // A change no notice announces (as one sent while the API was not listening would be missed):
    // the retired keys fall out of their window. The API cannot know yet.
    await cliDb.query("UPDATE signing_keys SET retired_at = now() - interval '1000 days' WHERE retired_at IS NOT NULL");
    expect(await publishedKids()).toEqual(expect.arrayContaining(retired));

    const pid = (await listenerPid())!;
    expect(pid).toBeDefined();
    await cliDb.query('SELECT pg_terminate_backend(:pid)', { replacements: { pid } });

    const kids = await within(2_000, async () => {
      const published = await publishedKids();
      return published.length === 1 ? published : undefined;
    });
    expect(kids).toEqual([newKid]);
    const again = await listenerPid();
    expect(again).toBeDefined();
    expect(again).not.toBe(pid);
  });

  it("pins each token's algorithm to its key's: after JWT_ALGORITHM changes, tokens of the other algorithm's keys still verify", async () => {
    const s = await signIn(h);
    // A key of another algorithm, still published (as after a switch of JWT_ALGORITHM and a rotation).
    const kid = await signingKeys.createSigningKey(cliDb, 'EdDSA', h.config.jwt.keyEncryptionSecret);
    try {
      expect(await within(2_000, async () => ((await publishedKids()).includes(kid) ? true : undefined))).toBe(true);
      const keys = await signingKeys.loadSigningKeys(cliDb, h.config.jwt.keyEncryptionSecret, h.config.jwt.keyVerifyWindow);
      const eddsa = keys.find((k) => k.kid === kid)!;
      const { token } = await signAccessToken({ userId: s.userId, sessionId: s.sessionId, tokenVersion: 1 }, eddsa, {
        issuer: h.config.jwt.issuer,
        audience: h.config.jwt.audience,
        ttl: 600,
      });
      expect(decodeProtectedHeader(token).alg).toBe('EdDSA');
      await h.http.get('/me').set('Authorization', `Bearer ${token}`).expect(200);

      // The same token claiming the configured algorithm is refused: that key is EdDSA's only.
      const [, payload, signature] = token.split('.');
      const relabelled = `${Buffer.from(JSON.stringify({ alg: 'ES256', kid, typ: 'at+jwt' })).toString('base64url')}.${payload}.${signature}`;
      const refused = await h.http.get('/me').set('Authorization', `Bearer ${relabelled}`);
      expect(refused.status).toBe(401);
      expect(refused.body.code).toBe('invalid_token');
    } finally {
      await cliDb.query('DELETE FROM signing_keys WHERE kid = :kid', { replacements: { kid } });
      await h.deps.keyRing.reload();
    }
  });
});

describe('two key rings (two API processes), one hearing of the rotation first', () => {
  let signerDb: Sequelize;
  let receiverDb: Sequelize;
  let signer: KeyRing;
  let receiver: KeyRing;
  let receiverSignatures: SignatureVerifier;
  let options: KeyRingOptions;

  beforeAll(async () => {
    options = {
      algorithm: h.config.jwt.algorithm,
      secret: h.config.jwt.keyEncryptionSecret,
      verifyWindow: h.config.jwt.keyVerifyWindow,
      createIfMissing: false,
    };
    signerDb = createDatabase(h.config, 2);
    receiverDb = createDatabase(h.config, 2);
    // No notice connections: the receiver must learn of the rotation from the token alone, as a
    // process does when a sibling's token reaches it before the notice does.
    signer = new KeyRing(signerDb, options);
    receiver = new KeyRing(receiverDb, options);
    await Promise.all([signer.start(), receiver.start()]);
    receiverSignatures = new SignatureVerifier({
      getKey: receiver.getKey,
      issuer: h.config.jwt.issuer,
      audience: h.config.jwt.audience,
      algorithms: [h.config.jwt.algorithm],
    });
  });
  afterAll(async () => {
    await Promise.all([signer?.stop(), receiver?.stop()]);
    await Promise.all([signerDb?.close(), receiverDb?.close()]);
  });
  afterEach(() => jest.restoreAllMocks());

  const input = () => ({ userId: randomUUID(), sessionId: randomUUID(), tokenVersion: 1 });
  const tokenOptions = () => ({ issuer: h.config.jwt.issuer, audience: h.config.jwt.audience, ttl: 600 });

  /** A well-formed token with a made-up kid, signed with a key of our algorithm that is not ours. */
  async function forged(): Promise<string> {
    const { privateKey } = await generateKeyPair('ES256');
    return new SignJWT({ sid: randomUUID(), tv: 1, jti: randomUUID() })
      .setProtectedHeader({ alg: 'ES256', kid: `forged-${randomUUID()}`, typ: 'at+jwt' })
      .setSubject(randomUUID())
      .setIssuer(h.config.jwt.issuer)
      .setAudience(h.config.jwt.audience)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(privateKey);
  }

  /**
   * Counts the receiver's key loads from now on. Only its own: the harness's API ring reloads on
   * the notices of these tests' rotations too, whenever they reach it.
   */
  function receiverLoads(): () => number {
    const spy = jest.spyOn(signingKeys, 'loadSigningKeys');
    return () => spy.mock.calls.filter(([db]) => db === receiverDb).length;
  }

  async function refusedAll(tokens: string[]): Promise<void> {
    const outcomes = await Promise.allSettled(tokens.map((t) => receiverSignatures.verify(t)));
    expect(outcomes.map((o) => (o.status === 'rejected' ? (o.reason as { code?: string }).code : 'accepted'))).toEqual(
      tokens.map(() => 'invalid_token'),
    );
  }

  it('a ring that loaded just before the rotation accepts a token the other signs with the new key', async () => {
    const newKid = await rotateLikeCli();
    await signer.reload(); // the signer heard of it first (its notice, say)
    expect(signer.signingKey().kid).toBe(newKid);
    expect(receiver.signingKey().kid).not.toBe(newKid);

    const { token, claims } = await signAccessToken(input(), signer.signingKey(), tokenOptions());
    await expect(receiverSignatures.verify(token)).resolves.toMatchObject({ sub: claims.sub, jti: claims.jti });
    expect(receiver.signingKey().kid).toBe(newKid);
  });

  it('merges concurrent reloads: calls before a load starts share it, calls while it runs share the next', async () => {
    const loads = receiverLoads();
    await Promise.all(Array.from({ length: 10 }, () => receiver.reload()));
    expect(loads()).toBe(1);

    const running = receiver.reload();
    while (loads() < 2) await new Promise((resolve) => setImmediate(resolve)); // its query is on its way
    const meanwhile = Array.from({ length: 10 }, () => receiver.reload());
    await Promise.all([running, ...meanwhile]);
    expect(loads()).toBe(3);
  });

  it('made-up kids cost one shared reload per second at most, and a genuine new kid still gets through after them', async () => {
    const wave = await Promise.all(Array.from({ length: 40 }, () => forged()));
    const loads = receiverLoads();

    const started = Date.now();
    await refusedAll(wave.slice(0, 20));
    expect(loads()).toBe(1);
    await refusedAll(wave.slice(20));
    expect(loads()).toBe(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);

    // A signature that cannot be one of ours (wrong size) never reaches Postgres.
    const [head, body, signature] = wave[0]!.split('.');
    const truncated = Buffer.from(signature!, 'base64url').subarray(0, 63).toString('base64url');
    await refusedAll([`${head}.${body}.${truncated}`]);
    expect(loads()).toBe(2);

    // Right after a reload spent on made-up kids, a sibling's token with a just-rotated key waits
    // for the next one instead of being refused.
    const newKid = await rotateLikeCli();
    await signer.reload();
    expect(signer.signingKey().kid).toBe(newKid);
    const { token } = await signAccessToken(input(), signer.signingKey(), tokenOptions());
    await expect(receiverSignatures.verify(token)).resolves.toBeDefined();
  });

  it('a ring whose notice connection cannot open still starts, verifies, and stops cleanly', async () => {
    const unreachable = new URL(h.config.databaseUrl);
    unreachable.port = '1';
    const db = createDatabase(h.config, 1);
    const ring = new KeyRing(db, { ...options, noticesFrom: unreachable.toString() });
    const started = Date.now();
    await ring.start();
    expect(Date.now() - started).toBeLessThan(1_000);
    const { token } = await signAccessToken(input(), ring.signingKey(), tokenOptions());
    await expect(receiverSignatures.verify(token)).resolves.toBeDefined();
    await ring.stop();
    await db.close();
  });
});
