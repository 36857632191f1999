import { Router, type Request } from 'express';
import type { ApiDeps } from '../../deps';
import { authenticate } from '../../http/authenticate';
import { jsonBody } from '../../http/json-body';
import { contextOf } from '../../http/request-context';
import { parse } from '../../http/validate';
import { REFRESH_COOKIE, clearRefreshCookie, sendSignedIn } from '../auth/token-response';
import { PasswordChangeService } from './password-change.service';
import { PasswordResetService } from './password-reset.service';
import { normalizeEmail } from '../../../../../shared/src/security/emails';
import { LIMITS } from '../../../../../shared/src/security/limits';
import { sha256 } from '../../../../../shared/src/tokens/sealing';
import { changePasswordBody, forgotPasswordBody, resetPasswordBody, verifyEmailBody } from './passwords.schemas';

/** `/auth/password/*` and `/auth/email/verify` (mounted under /auth). */
export function passwordsRoutes(deps: ApiDeps): Router {
  const router = Router();
  const auth = authenticate(deps.verifier);
  const change = new PasswordChangeService(deps);
  const reset = new PasswordResetService(deps);

  router.post('/password/change', auth, jsonBody, async (req, res) => {
    const body = parse(changePasswordBody, req.body);
    const signedIn = await change.change(req.auth!, body, refreshCookie(req), contextOf(req));
    if (signedIn) return sendSignedIn(deps, res, signedIn);
    // keepCurrentSession: false: this session is signed out too; nothing to hand back.
    clearRefreshCookie(res);
    res.status(204).end();
  });

  router.post('/password/forgot', jsonBody, async (req, res) => {
    const { email } = parse(forgotPasswordBody, req.body);
    await deps.limiter.consume(LIMITS.forgotPerIp, req.ip ?? 'unknown');
    // Per address: over the limit, nothing more is mailed, but the answer stays the same.
    const perAccount = await deps.limiter.hit(LIMITS.forgotPerAccount, sha256(normalizeEmail(email)).toString('hex'));
    if (!perAccount.blocked) reset.forgot(email);
    res.status(202).json({ status: 'accepted' });
  });

  router.post('/password/reset', jsonBody, async (req, res) => {
    const body = parse(resetPasswordBody, req.body);
    await reset.reset(body, contextOf(req));
    clearRefreshCookie(res);
    res.status(204).end();
  });

  router.post('/email/verify', jsonBody, async (req, res) => {
    const { token } = parse(verifyEmailBody, req.body);
    await reset.verifyEmail(token);
    res.status(204).end();
  });
  return router;
}

function refreshCookie(req: Request): string | undefined {
  const token: unknown = req.cookies?.[REFRESH_COOKIE];
  return typeof token === 'string' && /^[A-Za-z0-9_-]{43,128}$/.test(token) ? token : undefined;
}
