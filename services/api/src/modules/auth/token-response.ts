import type { CookieOptions, Response } from 'express';
import { signAccessToken, type AccessTokenInput } from '../../../../../shared/src/tokens/access-token';
import type { ApiDeps } from '../../deps';

/** The refresh cookie: host-only, HTTPS-only, invisible to scripts, never sent cross-site. */
export const REFRESH_COOKIE = '__Host-lk_rt';

const cookieBase: CookieOptions = { httpOnly: true, secure: true, sameSite: 'strict', path: '/' };

/** The user as every token response shows it. */
export interface PublicUser {
  id: string;
  email: string;
  name: string | null;
  emailVerified: boolean;
}

/** What a response that signs someone in (login, refresh, MFA, password change) carries. */
export interface SignedIn {
  user: PublicUser;
  session: { id: string; idleExpiresAt: Date; expiresAt: Date };
  token: Omit<AccessTokenInput, 'userId' | 'sessionId'>;
  organization?: { id: string; name: string };
  refreshToken?: string;
}

/** Signs the access token, sets the refresh cookie (if one was issued) and sends the login body. */
export async function sendSignedIn(deps: ApiDeps, res: Response, s: SignedIn, status = 200): Promise<void> {
  const key = deps.keyRing.signingKey();
  const { token, expiresIn } = await signAccessToken(
    { ...s.token, userId: s.user.id, sessionId: s.session.id },
    key,
    { issuer: deps.config.jwt.issuer, audience: deps.config.jwt.audience, ttl: deps.config.jwt.accessTtl },
  );
  if (s.refreshToken) setRefreshCookie(res, s.refreshToken, familyLifetimeMs(s.session));
  res.setHeader('Cache-Control', 'no-store');
  res.status(status).json({
    accessToken: token,
    tokenType: 'Bearer',
    expiresIn,
    session: { id: s.session.id },
    user: s.user,
    ...(s.organization ? { organization: s.organization } : {}),
  });
}

/** Max-Age = what is left of the family: the earlier of its idle and absolute expiry. */
export function familyLifetimeMs(session: { idleExpiresAt: Date; expiresAt: Date }): number {
  return Math.max(0, Math.min(session.idleExpiresAt.getTime(), session.expiresAt.getTime()) - Date.now());
}

export function setRefreshCookie(res: Response, token: string, maxAgeMs: number): void {
  res.cookie(REFRESH_COOKIE, token, { ...cookieBase, maxAge: maxAgeMs });
}

/** The cookie's deletion, said both ways clients understand (Max-Age=0 and an Expires in the past). */
const CLEARED_REFRESH_COOKIE = `${REFRESH_COOKIE}=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Secure; SameSite=Strict`;

export function clearRefreshCookie(res: Response): void {
  res.append('Set-Cookie', CLEARED_REFRESH_COOKIE);
}

export function toPublicUser(u: { id: string; email: string; name: string | null; emailVerifiedAt?: Date | null; email_verified_at?: Date | null }): PublicUser {
  return { id: u.id, email: u.email, name: u.name, emailVerified: Boolean(u.emailVerifiedAt ?? u.email_verified_at) };
}
