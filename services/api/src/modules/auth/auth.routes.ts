import { Router, type Request, type RequestHandler } from 'express';
import { QueryTypes } from 'sequelize';
import { User } from '../../../../../shared/src/db/models';
import { AppError } from '../../../../../shared/src/errors/app-error';
import { LIMITS } from '../../../../../shared/src/security/limits';
import { sha256 } from '../../../../../shared/src/tokens/sealing';
import { evaluate } from '../../../../../shared/src/verify/auth-state';
import { loadAuthState } from '../../../../../shared/src/verify/state-repository';
import type { ApiDeps } from '../../deps';
import { authenticate, bearerToken } from '../../http/authenticate';
import { crossSiteGuard } from '../../http/cross-site-guard';
import { csrfProtection } from '../../http/csrf';
import { jsonBody } from '../../http/json-body';
import { contextOf } from '../../http/request-context';
import { parse } from '../../http/validate';
import { SessionsService } from '../sessions/sessions.service';
import { loginBody, registerBody, switchOrganizationBody } from './auth.schemas';
import { LoginService, activeMembership } from './login.service';
import { RefreshService } from './refresh.service';
import { RegisterService } from './register.service';
import { REFRESH_COOKIE, clearRefreshCookie, sendSignedIn, toPublicUser } from './token-response';

/** Refusals after which the cookie is worthless and is cleared. */
const DEAD_COOKIE = new Set(['refresh_token_invalid', 'refresh_token_reused', 'session_revoked', 'session_expired', 'user_suspended']);

/** `/auth/*`: registration, sign-in, rotation, sign-out, organization switch. */
export function authRoutes(deps: ApiDeps): Router {
  const router = Router();
  const crossSite = crossSiteGuard(deps.config.allowedOrigins);
  const csrf = csrfProtection();
  const auth = authenticate(deps.verifier);
  const login = new LoginService(deps);
  const refresh = new RefreshService(deps);
  const register = new RegisterService(deps);
  const sessions = new SessionsService(deps);

  router.get('/csrf', csrf, (req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    res.json({ csrfToken: req.csrfToken() });
  });

  router.post('/register', jsonBody, async (req, res) => {
    const body = parse(registerBody, req.body);
    await deps.limiter.consume(LIMITS.registerPerIp, req.ip ?? 'unknown');
    await register.register(body);
    res.status(202).json({ status: 'accepted' });
  });

  router.post('/login', crossSite, jsonBody, async (req, res) => {
    const body = parse(loginBody, req.body);
    const ctx = contextOf(req);
    const user = await login.checkCredentials(body, ctx);
    if (user.mfaEnabledAt) {
      if (body.organizationId !== undefined) await activeMembership(user.id, body.organizationId);
      const challengeId = await deps.mfaChallenges.create({
        userId: user.id,
        tokenVersion: user.tokenVersion,
        organizationId: body.organizationId,
        deviceName: body.deviceName,
      });
      res.setHeader('Cache-Control', 'no-store');
      res.json({ mfaRequired: true, challengeId });
      return;
    }
    await sendSignedIn(deps, res, await login.openSession(user, body, ctx));
  });

  router.post('/refresh', crossSite, csrf, async (req, res) => {
    await deps.limiter.consume(LIMITS.refreshPerIp, req.ip ?? 'unknown');
    const presented = refreshCookie(req);
    const outcome = await refresh.refresh(presented, contextOf(req));
    if (!outcome.ok) {
      if (DEAD_COOKIE.has(outcome.code)) clearRefreshCookie(res);
      throw new AppError(outcome.code);
    }
    await sendSignedIn(deps, res, outcome.signedIn);
  });

  // With a Bearer token no cookie is involved and no CSRF token is needed; nor without a refresh
  // cookie, when nothing authenticates the request and there is nothing to sign out of.
  const cookieGuard: RequestHandler = (req, res, next) =>
    crossSite(req, res, (e?: unknown) => (e ? next(e) : req.cookies?.[REFRESH_COOKIE] === undefined ? next() : csrf(req, res, next)));
  router.post(
    '/logout',
    (req, res, next) => (bearerToken(req.get('authorization')) ? auth(req, res, next) : cookieGuard(req, res, next)),
    async (req, res) => {
      const ctx = contextOf(req);
      if (req.auth) {
        await sessions.revoke(req.auth.sub, req.auth.sid, 'logout', ctx);
      } else {
        // Signing out is idempotent: without a (well-formed, known) cookie there is nothing left to
        // revoke, and the answer is the same 204 that clears whatever the browser still holds.
        const presented = presentedRefreshToken(req);
        const outcome = presented ? await sessionOfCookie(deps, presented) : undefined;
        if (outcome) await sessions.revoke(outcome.userId, outcome.sessionId, 'logout', ctx);
      }
      clearRefreshCookie(res);
      res.status(204).end();
    },
  );

  router.post('/logout-all', auth, async (req, res) => {
    await sessions.revokeAll(req.auth!.sub, contextOf(req));
    clearRefreshCookie(res);
    res.status(204).end();
  });

  router.post('/switch-organization', auth, jsonBody, async (req, res) => {
    const { organizationId } = parse(switchOrganizationBody, req.body);
    const { sub, sid, tv } = req.auth!;
    const { membership, organization } = await activeMembership(sub, organizationId);
    const user = await User.findByPk(sub);
    // Checked again in Postgres, with the move: the token was verified against Redis, and a new
    // token must never come out of a session revoked, expired or signed out (a newer token
    // version) in the meantime, whatever Redis still held.
    const moved = await deps.db.query(
      `UPDATE sessions s SET organization_id = :org, membership_id = :mid
       FROM users u
       WHERE s.id = :sid AND s.user_id = :sub AND u.id = s.user_id AND s.revoked_at IS NULL
         AND LEAST(s.expires_at, s.idle_expires_at) > now() AND u.token_version = :tv AND u.status = 'active'
       RETURNING s.id`,
      { type: QueryTypes.SELECT, replacements: { org: organization.id, mid: membership.id, sid, sub, tv } },
    );
    if (!user || moved.length === 0) {
      // Refused as verification would refuse the token, reading Postgres (the contract's order).
      const refusal = evaluate(req.auth!, await loadAuthState(deps.db, sub, sid, req.auth!.mid), Math.floor(Date.now() / 1000));
      throw new AppError(refusal ?? 'session_revoked');
    }
    await sendSignedIn(deps, res, {
      user: toPublicUser(user),
      session: { id: sid, idleExpiresAt: new Date(0), expiresAt: new Date(0) },
      token: { tokenVersion: tv, organizationId: organization.id, membershipId: membership.id, permissionsVersion: membership.permissionsVersion },
      organization: { id: organization.id, name: organization.name },
    });
  });

  return router;
}

/** The refresh cookie when it has the form of one of our tokens. */
function presentedRefreshToken(req: Request): string | undefined {
  const token: unknown = req.cookies?.[REFRESH_COOKIE];
  return typeof token === 'string' && /^[A-Za-z0-9_-]{43,128}$/.test(token) ? token : undefined;
}

function refreshCookie(req: Request): string {
  const token = presentedRefreshToken(req);
  if (!token) throw new AppError('refresh_token_invalid');
  return token;
}

/**
 * The session a refresh cookie belongs to (used or not, live or revoked): logout with a stale cookie
 * still works, and its retry after a 503 writes the revoked state through again.
 */
async function sessionOfCookie(deps: ApiDeps, token: string): Promise<{ userId: string; sessionId: string } | undefined> {
  const [session] = await deps.db.query<{ id: string; user_id: string }>(
    'SELECT s.id, s.user_id FROM refresh_tokens rt JOIN sessions s ON s.id = rt.session_id WHERE rt.token_hash = :hash',
    { type: QueryTypes.SELECT, replacements: { hash: sha256(token) } },
  );
  return session ? { userId: session.user_id, sessionId: session.id } : undefined;
}
