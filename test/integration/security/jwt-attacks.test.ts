import { createHmac, randomUUID } from 'node:crypto';
import { SignJWT, type JWTPayload } from 'jose';
import { startHarness, type Harness } from '../../support/harness';
import { signIn, type BrowserSession } from '../../support/browser-session';

let h: Harness;
let s: BrowserSession;
let other: BrowserSession;
beforeAll(async () => {
  h = await startHarness();
  s = await signIn(h);
  other = await signIn(h);
});
afterAll(() => h.close());

const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

function claims(overrides: Record<string, unknown> = {}): JWTPayload {
  return {
    iss: h.config.jwt.issuer,
    aud: h.config.jwt.audience,
    sub: s.userId,
    sid: s.sessionId,
    tv: 1,
    jti: randomUUID(),
    iat: now(),
    exp: now() + 300,
    ...overrides,
  };
}

/** Signs with Latchkey's real key: only the claims or header are wrong. */
async function signed(payload: JWTPayload, header: Record<string, unknown> = {}): Promise<string> {
  const key = h.deps.keyRing.signingKey();
  return new SignJWT(payload).setProtectedHeader({ alg: 'ES256', kid: key.kid, typ: 'at+jwt', ...header }).sign(key.privateKey);
}

async function refused(token: string, code = 'invalid_token'): Promise<void> {
  const res = await h.http.get('/me').set('Authorization', `Bearer ${token}`);
  expect(res.status).toBe(401);
  expect(res.headers['content-type']).toMatch(/problem\+json/);
  expect(res.body.code).toBe(code);
  expect(res.headers['www-authenticate']).toBe(`Bearer error="invalid_token", error_description="${code}"`);
}

describe('the JWT attack catalogue', () => {
  it('accepts the genuine article (the control case)', async () => {
    expect((await h.http.get('/me').set('Authorization', `Bearer ${await signed(claims())}`)).status).toBe(200);
  });

  it('refuses alg none', async () => {
    await refused(`${b64({ alg: 'none', typ: 'at+jwt', kid: h.deps.keyRing.signingKey().kid })}.${b64(claims())}.`);
    await refused(`${b64({ alg: 'none', typ: 'at+jwt' })}.${b64(claims())}.AAAA`);
  });

  it('refuses HS256 signed with our public key as the secret', async () => {
    const key = h.deps.keyRing.signingKey();
    for (const secret of [JSON.stringify(key.publicJwk), key.publicJwk.x!]) {
      const input = `${b64({ alg: 'HS256', typ: 'at+jwt', kid: key.kid })}.${b64(claims())}`;
      await refused(`${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`);
    }
  });

  it('refuses unknown and injected kids, and jku/x5u/jwk/crit headers', async () => {
    await refused(await signed(claims(), { kid: 'unknown-kid' }));
    await refused(await signed(claims(), { kid: "../../../../dev/null'; DROP TABLE users; --" }));
    await refused(await signed(claims(), { jku: 'https://evil.example/jwks.json' }));
    await refused(await signed(claims(), { x5u: 'https://evil.example/cert.pem' }));
    await refused(await signed(claims(), { jwk: h.deps.keyRing.signingKey().publicJwk }));
  });

  it('refuses tokens missing a required claim', async () => {
    for (const missing of ['exp', 'sub', 'sid', 'tv', 'jti', 'iat']) {
      const c = claims();
      delete c[missing];
      await refused(await signed(c));
    }
  });

  it('refuses expired tokens as token_expired, and nbf or iat in the future', async () => {
    await refused(await signed(claims({ iat: now() - 700, exp: now() - 60 })), 'token_expired');
    await refused(await signed(claims({ nbf: now() + 120 })));
    await refused(await signed(claims({ iat: now() + 120, exp: now() + 400 })));
  });

  it('refuses a wrong issuer, audience or typ', async () => {
    await refused(await signed(claims({ iss: 'https://evil.example' })));
    await refused(await signed(claims({ aud: 'another-api' })));
    await refused(await signed(claims(), { typ: 'JWT' }));
    await refused(await signed(claims(), { typ: 'id+jwt' }));
  });

  it("refuses another user's session under my name and an organization I am not in", async () => {
    await refused(await signed(claims({ sub: other.userId })), 'session_revoked');
    await refused(await signed(claims({ org: randomUUID(), mid: randomUUID(), pv: 1 })), 'membership_inactive');
    await refused(await signed(claims({ sub: 'not-a-uuid' })));
  });

  it('checks the compact form strictly: truncated, padded and non-canonical signatures', async () => {
    const token = await signed(claims());
    const [header, payload, signature] = token.split('.') as [string, string, string];
    await refused(`${header}.${payload}.${signature.slice(0, -4)}`);
    await refused(`${token}=`);
    await refused(`${token}==`);
    // Flip the unused low bits of the last character: decodes to the same bytes, different text.
    const last = signature.at(-1)!;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const twin = alphabet[(alphabet.indexOf(last) & ~0b11) | ((alphabet.indexOf(last) + 1) & 0b11)]!;
    await refused(`${header}.${payload}.${signature.slice(0, -1)}${twin}`);
    await refused(`${header}.${payload}`);
    await refused(`${header}..${signature}`);
    await refused(`${header} .${payload}.${signature}`);
  });

  it('answers a 20 KiB token with 401 or 431, never a 5xx', async () => {
    const res = await h.http.get('/me').set('Authorization', `Bearer ${'a'.repeat(20 * 1024)}`);
    expect([401, 431]).toContain(res.status);
  });

  it('refuses a token with a stale token version as token_version_stale', async () => {
    await refused(await signed(claims({ tv: 7 })), 'token_version_stale');
  });
});
