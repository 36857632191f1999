import { isIP } from 'node:net';
import type { Request } from 'express';
import type { AccessClaims } from '../../../../shared/src/verify/auth-state';

/** Who is asking, from where: what services need of a request, without express. */
export interface RequestContext {
  requestId: string;
  ip: string | undefined;
  userAgent: string | undefined;
}

export function contextOf(req: Request): RequestContext {
  return { requestId: req.id, ip: clientIp(req.ip), userAgent: req.get('user-agent')?.slice(0, 512) };
}

/**
 * The client's address when it is one. Behind a trusted proxy `req.ip` is whatever the
 * X-Forwarded-For header said; a value that is not an address is dropped rather than stored in a
 * session or an event (which hold at most 64 characters: an IPv6 address with a zone fits).
 */
function clientIp(ip: string | undefined): string | undefined {
  return ip !== undefined && isIP(ip) !== 0 ? ip.slice(0, 64) : undefined;
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
