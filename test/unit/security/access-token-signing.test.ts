import { decodeProtectedHeader, exportJWK, generateKeyPair, importJWK, jwtVerify } from 'jose';
import { signAccessToken } from '../../../shared/src/tokens/access-token';
import type { SigningAlgorithm, SigningKey } from '../../../shared/src/tokens/signing-keys';

/**
 * Access tokens are signed with node:crypto (P4: WebCrypto's job cost several times the signature);
 * jose, which every verifier uses, must accept them exactly as it accepted its own SignJWT output,
 * and a key that does not fit the algorithm must be refused rather than used.
 */
const GEN_OPTIONS = { ES256: {}, EdDSA: { crv: 'Ed25519' }, RS256: { modulusLength: 2048 } } as const;

async function keyOf(alg: SigningAlgorithm, generateAs: SigningAlgorithm = alg): Promise<SigningKey> {
  const { publicKey, privateKey } = await generateKeyPair(generateAs, { ...GEN_OPTIONS[generateAs], extractable: true });
  return { kid: `kid-${alg}`, alg, publicJwk: await exportJWK(publicKey), privateKey, createdAt: new Date(), retiredAt: null };
}

const OPTIONS = { issuer: 'https://issuer.test', audience: 'latchkey-test', ttl: 600 };
const INPUT = {
  userId: '00000000-0000-4000-8000-000000000001',
  sessionId: '00000000-0000-4000-8000-000000000002',
  tokenVersion: 3,
  organizationId: '00000000-0000-4000-8000-000000000003',
  membershipId: '00000000-0000-4000-8000-000000000004',
  permissionsVersion: 7,
};

describe.each(['ES256', 'EdDSA', 'RS256'] as const)('access token signed with %s', (alg) => {
  it('verifies with jose under the same checks as a SignJWT token, with the claims and header it carried', async () => {
    const key = await keyOf(alg);
    const publicKey = await importJWK(key.publicJwk, alg);
    const { token, claims, expiresIn } = await signAccessToken(INPUT, key, OPTIONS);
    expect(token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(decodeProtectedHeader(token)).toEqual({ alg, kid: key.kid, typ: 'at+jwt' });
    const { payload } = await jwtVerify(token, publicKey, { ...OPTIONS, algorithms: [alg], typ: 'at+jwt' });
    expect(payload).toEqual({
      iss: OPTIONS.issuer,
      aud: OPTIONS.audience,
      sub: INPUT.userId,
      sid: INPUT.sessionId,
      tv: 3,
      org: INPUT.organizationId,
      mid: INPUT.membershipId,
      pv: 7,
      jti: claims.jti,
      iat: claims.iat,
      exp: claims.iat + OPTIONS.ttl,
    });
    expect(expiresIn).toBe(OPTIONS.ttl);
  });

  it('is refused by another key of the same algorithm', async () => {
    const [key, other] = await Promise.all([keyOf(alg), keyOf(alg)]);
    const otherPublic = await importJWK(other.publicJwk, alg);
    const { token } = await signAccessToken(INPUT, key, OPTIONS);
    await expect(jwtVerify(token, otherPublic, { ...OPTIONS, algorithms: [alg] })).rejects.toThrow();
  });
});

it('refuses to sign with a key that does not fit the algorithm', async () => {
  await expect(signAccessToken(INPUT, await keyOf('ES256', 'EdDSA'), OPTIONS)).rejects.toThrow(/does not fit ES256/);
  await expect(signAccessToken(INPUT, await keyOf('EdDSA', 'ES256'), OPTIONS)).rejects.toThrow(/does not fit EdDSA/);
  await expect(signAccessToken(INPUT, await keyOf('RS256', 'ES256'), OPTIONS)).rejects.toThrow(/does not fit RS256/);
});
