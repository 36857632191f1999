import { KeyObject, randomUUID, sign as cryptoSign, type SignKeyObjectInput } from 'node:crypto';
import { errors as joseErrors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { AppError } from '../errors/app-error';
import type { AccessClaims } from '../verify/auth-state';
import type { SigningAlgorithm, SigningKey } from './signing-keys';

export const ACCESS_TOKEN_TYPE = 'at+jwt';
const CLOCK_SKEW_SECONDS = 5;
/** Longer than any token we issue; refused before any parsing. */
export const MAX_TOKEN_LENGTH = 4096;
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ALLOWED_HEADER_PARAMS = new Set(['alg', 'kid', 'typ']);

const SIGNATURE_DIGEST: Record<SigningAlgorithm, string | null> = { ES256: 'sha256', RS256: 'sha256', EdDSA: null };
const keyObjects = new WeakMap<SigningKey['privateKey'], KeyObject | SignKeyObjectInput>();

function base64url(text: string): string {
  return Buffer.from(text).toString('base64url');
}

/**
 * The signing key as node:crypto uses it, checked against its algorithm once (as jose checks it):
 * ES256 a P-256 key with the signature in IEEE P1363 form (r || s), EdDSA an Ed25519 key, RS256
 * an RSA key of at least 2048 bits (PKCS#1 v1.5 padding, node's default).
 */
function signingKeyObject(key: SigningKey): KeyObject | SignKeyObjectInput {
  let cached = keyObjects.get(key.privateKey);
  if (cached) return cached;
  const object = KeyObject.from(key.privateKey);
  const details = object.asymmetricKeyDetails ?? {};
  const fits =
    object.type === 'private' &&
    ((key.alg === 'ES256' && object.asymmetricKeyType === 'ec' && details.namedCurve === 'prime256v1') ||
      (key.alg === 'EdDSA' && object.asymmetricKeyType === 'ed25519') ||
      (key.alg === 'RS256' && object.asymmetricKeyType === 'rsa' && (details.modulusLength ?? 0) >= 2048));
  if (!fits) throw new Error(`signing key ${key.kid} does not fit ${key.alg}`);
  cached = key.alg === 'ES256' ? { key: object, dsaEncoding: 'ieee-p1363' } : object;
  keyObjects.set(key.privateKey, cached);
  return cached;
}

/** What goes into an access token besides the standard claims. */
export interface AccessTokenInput {
  userId: string;
  sessionId: string;
  tokenVersion: number;
  organizationId?: string;
  membershipId?: string;
  permissionsVersion?: number;
}

/** Signs a slim access token: ids and versions only, nothing a change could make stale silently. */
export async function signAccessToken(
  input: AccessTokenInput,
  key: SigningKey,
  options: { issuer: string; audience: string; ttl: number },
): Promise<{ token: string; expiresIn: number; claims: AccessClaims }> {
  const iat = Math.floor(Date.now() / 1000);
  const claims: AccessClaims = {
    sub: input.userId,
    sid: input.sessionId,
    tv: input.tokenVersion,
    ...(input.organizationId && input.membershipId
      ? { org: input.organizationId, mid: input.membershipId, pv: input.permissionsVersion }
      : {}),
    jti: randomUUID(),
    iat,
    exp: iat + options.ttl,
  };
  const { sub, iat: _iat, exp, jti, ...rest } = claims;
  // The compact JWS jose's SignJWT would produce (same header and claims), signed with node:crypto:
  // WebCrypto's job costs several times the CPU of the signature itself (P4). ES256 and EdDSA sign
  // in well under 0.1 ms, synchronously; RS256 (~1 ms) stays off the event loop.
  const header = { alg: key.alg, kid: key.kid, typ: ACCESS_TOKEN_TYPE };
  const payload = { ...rest, iss: options.issuer, aud: options.audience, sub, iat, exp, jti };
  const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(payload))}`;
  const data = Buffer.from(signingInput);
  const signature =
    key.alg === 'RS256'
      ? await new Promise<Buffer>((resolve, reject) =>
          cryptoSign(SIGNATURE_DIGEST[key.alg], data, signingKeyObject(key), (err, sig) => (err ? reject(err) : resolve(sig))),
        )
      : cryptoSign(SIGNATURE_DIGEST[key.alg], data, signingKeyObject(key));
  const token = `${signingInput}.${signature.toString('base64url')}`;
  return { token, expiresIn: options.ttl, claims };
}

export interface SignatureVerifierOptions {
  getKey: JWTVerifyGetKey;
  issuer: string;
  audience: string;
  algorithms: string[];
  /** Bound of the verified-signature cache (entries); 0 disables it. */
  cacheSize?: number;
}

/**
 * Check 1 of the contract: the token's form, signature, header and claims. A signature never
 * changes for a given token, so verified tokens are cached (bounded, until their `exp`); the
 * state checks (session, versions, statuses) still run on every request.
 */
export class SignatureVerifier {
  private readonly cache = new Map<string, AccessClaims>();
  private readonly cacheSize: number;

  constructor(private readonly options: SignatureVerifierOptions) {
    this.cacheSize = options.cacheSize ?? 50_000;
  }

  async verify(token: string, nowSeconds = Math.floor(Date.now() / 1000)): Promise<AccessClaims> {
    return this.cached(token, nowSeconds) ?? this.verifyAndCache(token);
  }

  /**
   * The claims of a token whose signature was verified before, synchronously (the hot path: no
   * promise); undefined when it was not. Throws token_expired once it has expired.
   */
  cached(token: string, nowSeconds = Math.floor(Date.now() / 1000)): AccessClaims | undefined {
    const claims = this.cache.get(token);
    if (claims && claims.exp + CLOCK_SKEW_SECONDS <= nowSeconds) {
      this.cache.delete(token);
      throw new AppError('token_expired');
    }
    return claims;
  }

  private async verifyAndCache(token: string): Promise<AccessClaims> {
    const claims = await this.verifyUncached(token);
    if (this.cacheSize > 0) {
      if (this.cache.size >= this.cacheSize) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(token, claims);
    }
    return claims;
  }

  private async verifyUncached(token: string): Promise<AccessClaims> {
    if (token.length > MAX_TOKEN_LENGTH || !COMPACT_JWS.test(token)) throw invalid('malformed compact JWS');
    const [headerPart, , signaturePart] = token.split('.') as [string, string, string];
    // Refuse non-canonical base64url (padding bits set), which some decoders would accept.
    if (Buffer.from(signaturePart, 'base64url').toString('base64url') !== signaturePart) throw invalid('non-canonical signature');
    let header: Record<string, unknown>;
    try {
      header = JSON.parse(Buffer.from(headerPart, 'base64url').toString('utf8'));
    } catch {
      throw invalid('header is not JSON');
    }
    if (typeof header !== 'object' || header === null || Object.keys(header).some((k) => !ALLOWED_HEADER_PARAMS.has(k))) {
      throw invalid('unexpected header parameter');
    }
    if (typeof header.kid !== 'string' || header.typ !== ACCESS_TOKEN_TYPE) throw invalid('kid or typ');
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.options.getKey, {
        algorithms: this.options.algorithms,
        issuer: this.options.issuer,
        audience: this.options.audience,
        typ: ACCESS_TOKEN_TYPE,
        clockTolerance: CLOCK_SKEW_SECONDS,
        requiredClaims: ['exp', 'iat', 'sub', 'sid', 'tv', 'jti'],
      }));
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired) throw new AppError('token_expired');
      throw invalid(err instanceof Error ? err.message : 'verification failed');
    }
    return toClaims(payload);
  }
}

function toClaims(p: JWTPayload): AccessClaims {
  const now = Math.floor(Date.now() / 1000);
  const ok =
    typeof p.sub === 'string' && UUID.test(p.sub) &&
    typeof p.sid === 'string' && UUID.test(p.sid) &&
    Number.isSafeInteger(p.tv) && (p.tv as number) > 0 &&
    typeof p.jti === 'string' &&
    typeof p.iat === 'number' && p.iat <= now + CLOCK_SKEW_SECONDS &&
    typeof p.exp === 'number';
  if (!ok) throw invalid('claims');
  const hasOrg = p.org !== undefined || p.mid !== undefined || p.pv !== undefined;
  if (hasOrg) {
    const orgOk =
      typeof p.org === 'string' && UUID.test(p.org) &&
      typeof p.mid === 'string' && UUID.test(p.mid) &&
      Number.isSafeInteger(p.pv) && (p.pv as number) > 0;
    if (!orgOk) throw invalid('organization claims');
  }
  if (p.nbf !== undefined && (typeof p.nbf !== 'number' || p.nbf > now + CLOCK_SKEW_SECONDS)) throw invalid('nbf');
  return {
    sub: p.sub as string,
    sid: p.sid as string,
    tv: p.tv as number,
    ...(hasOrg ? { org: p.org as string, mid: p.mid as string, pv: p.pv as number } : {}),
    jti: p.jti as string,
    iat: p.iat as number,
    exp: p.exp as number,
  };
}

function invalid(detail: string): AppError {
  return new AppError('invalid_token', { detail });
}
