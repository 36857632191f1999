import jwt, { type JwtPayload } from 'jsonwebtoken';
import jwksRsa from 'jwks-rsa';
import { signIn } from '../../support/browser-session';
import { startHarness, type Harness } from '../../support/harness';
import { listen } from './kit-support';

/**
 * Interoperability: the most common Express stack (jsonwebtoken + jwks-rsa) verifies Latchkey's
 * access tokens with the JWKS fetched over HTTP. A product backend must pin the algorithm and check
 * `iss`, `aud` and the `typ` header (`at+jwt`) itself; signature checks alone do not see
 * revocations, so it must also call /v1/introspect or use the kit for the state checks.
 */
let h: Harness;
let latchkey: Awaited<ReturnType<typeof listen>>;
let client: jwksRsa.JwksClient;
beforeAll(async () => {
  h = await startHarness();
  latchkey = await listen(h);
  client = jwksRsa({ jwksUri: `${latchkey.url}/.well-known/jwks.json`, cache: true, rateLimit: true });
});
afterAll(async () => {
  await latchkey.close();
  await h.close();
});

function verifyWithJsonwebtoken(token: string, overrides: Partial<{ issuer: string; audience: string }> = {}): Promise<JwtPayload> {
  return new Promise((resolve, reject) => {
    jwt.verify(
      token,
      (header, callback) => {
        if (header.typ !== 'at+jwt') return callback(new Error(`typ ${header.typ} is not at+jwt`));
        client.getSigningKey(header.kid).then((key) => callback(null, key.getPublicKey()), callback);
      },
      {
        algorithms: ['ES256'],
        issuer: overrides.issuer ?? h.config.jwt.issuer,
        audience: overrides.audience ?? h.config.jwt.audience,
        clockTolerance: 5,
      },
      (err, payload) => (err ? reject(err) : resolve(payload as JwtPayload)),
    );
  });
}

it('verifies a Latchkey access token with jsonwebtoken + jwks-rsa over HTTP', async () => {
  const s = await signIn(h);
  const payload = await verifyWithJsonwebtoken(s.accessToken);
  expect(payload).toMatchObject({ sub: s.userId, sid: s.sessionId, tv: expect.any(Number), iss: h.config.jwt.issuer, aud: h.config.jwt.audience });
  const header = jwt.decode(s.accessToken, { complete: true })!.header;
  expect(header).toMatchObject({ alg: 'ES256', typ: 'at+jwt', kid: expect.any(String) });
});

it('refuses a wrong issuer or audience, a forged signature and another algorithm', async () => {
  const s = await signIn(h);
  await expect(verifyWithJsonwebtoken(s.accessToken, { issuer: 'https://evil.example' })).rejects.toThrow(/issuer/);
  await expect(verifyWithJsonwebtoken(s.accessToken, { audience: 'other-api' })).rejects.toThrow(/audience/);
  const [head, payload] = s.accessToken.split('.');
  const forged = `${head}.${payload}.${Buffer.alloc(64, 1).toString('base64url')}`;
  await expect(verifyWithJsonwebtoken(forged)).rejects.toThrow(/signature/);
  const hs = jwt.sign({ sub: s.userId }, 'secret', { algorithm: 'HS256', header: { alg: 'HS256', typ: 'at+jwt', kid: 'x' } });
  await expect(verifyWithJsonwebtoken(hs)).rejects.toThrow();
});

it('refuses a token whose typ is not at+jwt (e.g. an ID token signed by the same key)', async () => {
  const s = await signIn(h);
  const key = h.deps.keyRing.signingKey();
  const { SignJWT } = await import('jose');
  const idToken = await new SignJWT({ sid: s.sessionId, tv: 1 })
    .setProtectedHeader({ alg: 'ES256', kid: key.kid, typ: 'JWT' })
    .setIssuer(h.config.jwt.issuer)
    .setAudience(h.config.jwt.audience)
    .setSubject(s.userId)
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(key.privateKey);
  await expect(verifyWithJsonwebtoken(idToken)).rejects.toThrow(/typ/);
});
