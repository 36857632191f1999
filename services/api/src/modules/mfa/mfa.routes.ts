import { Router } from 'express';
import { User } from '../../../../../shared/src/db/models';
import { AppError } from '../../../../../shared/src/errors/app-error';
import { LIMITS } from '../../../../../shared/src/security/limits';
import type { ApiDeps } from '../../deps';
import { authenticate } from '../../http/authenticate';
import { crossSiteGuard } from '../../http/cross-site-guard';
import { jsonBody } from '../../http/json-body';
import { contextOf } from '../../http/request-context';
import { parse } from '../../http/validate';
import { LoginService } from '../auth/login.service';
import { signInRefusal, signInStateOf, staleProof } from '../auth/sign-in-checks';
import { sendSignedIn } from '../auth/token-response';
import { MfaService } from './mfa.service';
import { confirmBody, disableBody, enrollBody, verifyBody } from './mfa.schemas';

/** `/auth/mfa/*`: the second step of sign-in, and TOTP enrolment for a signed-in user. */
export function mfaRoutes(deps: ApiDeps): Router {
  const challenges = deps.mfaChallenges;
  const router = Router();
  const mfa = new MfaService(deps);
  const login = new LoginService(deps);
  const auth = authenticate(deps.verifier);

  router.post('/verify', crossSiteGuard(deps.config.allowedOrigins), jsonBody, async (req, res) => {
    const body = parse(verifyBody, req.body);
    const ctx = contextOf(req);
    await deps.limiter.consume(LIMITS.mfaAttemptsPerIp, ctx.ip ?? 'unknown');
    const pending = await challenges.attempt(body.challengeId);
    if (!pending) throw new AppError('mfa_invalid');
    await deps.limiter.consume(LIMITS.mfaAttemptsPerAccount, pending.userId);
    const user = await User.findByPk(pending.userId);
    if (!user) throw new AppError('mfa_invalid');
    // The password step's checks again, and its token version: a suspension, a required reset,
    // logout-all or a password change since then ends this sign-in and its challenge, before a
    // code is checked (and a recovery code spent). OPEN_SESSION checks the same at its insert.
    const refusal =
      signInRefusal(signInStateOf(user), deps.config.requireEmailVerification) ?? (user.tokenVersion !== pending.tokenVersion ? staleProof() : undefined);
    if (refusal) {
      await challenges.consume(body.challengeId);
      throw refusal;
    }
    if (!(await mfa.checkCode(user, body.code))) throw new AppError('mfa_invalid');
    if (!(await challenges.consume(body.challengeId))) throw new AppError('mfa_invalid');
    await deps.limiter.reset(LIMITS.mfaAttemptsPerAccount, pending.userId);
    await sendSignedIn(deps, res, await login.openSession(user, pending, ctx));
  });

  router.post('/totp/enroll', auth, jsonBody, async (req, res) => {
    const { currentPassword } = parse(enrollBody, req.body);
    res.setHeader('Cache-Control', 'no-store');
    res.json(await mfa.enroll(req.auth!.sub, currentPassword));
  });

  router.post('/totp/confirm', auth, jsonBody, async (req, res) => {
    const body = parse(confirmBody, req.body);
    res.setHeader('Cache-Control', 'no-store');
    res.json(await mfa.confirm(req.auth!.sub, body.code, body.currentPassword));
  });

  router.post('/totp/disable', auth, jsonBody, async (req, res) => {
    const body = parse(disableBody, req.body);
    await mfa.disable(req.auth!.sub, body.currentPassword, body.code);
    res.status(204).end();
  });
  return router;
}
