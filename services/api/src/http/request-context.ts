import type { Request } from 'express';
import type { AccessClaims } from '../../../../shared/src/verify/auth-state';

/** Who is asking, from where: what services need of a request, without express. */
export interface RequestContext {
  requestId: string;
  ip: string | undefined;
  userAgent: string | undefined;
}

export function contextOf(req: Request): RequestContext {
  return { requestId: req.id, ip: req.ip, userAgent: req.get('user-agent')?.slice(0, 512) };
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      id: string;
      /** The verified access token's claims, set by `authenticate`. */
      auth?: AccessClaims;
    }
  }
}
