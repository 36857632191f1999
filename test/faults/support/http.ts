import { recordErrorBody, recordSecret } from './evidence';

/** One answer, with the body parsed when it is JSON. */
export interface Reply {
  status: number;
  contentType: string;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  setCookies: string[];
}

export const REFRESH_COOKIE = '__Host-lk_rt';

/**
 * An HTTP call to a process of the suite. Every secret that crosses it (passwords sent, access
 * tokens and refresh cookies received) and every error body is recorded for the G7 scan.
 * Bounded by a timeout; a refused connection throws (the caller decides what that means).
 */
export async function call(
  base: string,
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: unknown; raw?: string; timeoutMs?: number } = {},
): Promise<Reply> {
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  let payload: string | undefined = options.raw;
  if (options.body !== undefined) {
    payload = JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
    recordPasswords(options.body);
  }
  const res = await fetch(`${base}${path}`, { method, headers, body: payload, signal: AbortSignal.timeout(options.timeoutMs ?? 15_000) });
  const text = await res.text();
  const contentType = res.headers.get('content-type') ?? '';
  let body: unknown;
  if (/json/.test(contentType)) {
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
  }
  const setCookies = res.headers.getSetCookie();
  for (const c of setCookies) if (c.startsWith(`${REFRESH_COOKIE}=`)) recordSecret('refresh_token', cookieValue(c));
  if (body && typeof body === 'object') {
    const b = body as Record<string, unknown>;
    if (typeof b.accessToken === 'string') recordSecret('access_token', b.accessToken);
  }
  if (res.status >= 400) recordErrorBody(`${method} ${path}`, res.status, text);
  return { status: res.status, contentType, text, body, setCookies };
}

function cookieValue(setCookie: string): string {
  const pair = setCookie.split(';')[0]!;
  return pair.slice(pair.indexOf('=') + 1).trim();
}

function recordPasswords(body: unknown): void {
  if (!body || typeof body !== 'object') return;
  for (const field of ['password', 'currentPassword', 'newPassword'] as const) {
    const v = (body as Record<string, unknown>)[field];
    if (typeof v === 'string' && v.length >= 8) recordSecret('password', v);
  }
}

/** A browser's cookies: name -> value, from Set-Cookie lines. */
export class Jar {
  readonly cookies = new Map<string, string>();
  store(lines: string[]): void {
    for (const line of lines) {
      const pair = line.split(';')[0]!;
      const name = pair.slice(0, pair.indexOf('=')).trim();
      const value = pair.slice(pair.indexOf('=') + 1).trim();
      if (!value || /max-age=0|expires=thu, 01 jan 1970/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }
  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

/** A signed-in browser against one API process. */
export interface Signed {
  userId: string;
  sessionId: string;
  accessToken: string;
  jar: Jar;
  csrf: string;
}

/** Signs in (and fetches a CSRF token like a browser app); throws unless both answer 200. */
export async function login(base: string, email: string, password: string, organizationId?: string): Promise<Signed> {
  const res = await call(base, 'POST', '/auth/login', { body: { email, password, ...(organizationId ? { organizationId } : {}) } });
  if (res.status !== 200) throw new Error(`login ${email}: ${res.status} ${res.text}`);
  const jar = new Jar();
  jar.store(res.setCookies);
  const csrf = await call(base, 'GET', '/auth/csrf', { headers: { cookie: jar.header() } });
  if (csrf.status !== 200) throw new Error(`csrf: ${csrf.status}`);
  jar.store(csrf.setCookies);
  return { userId: res.body.user.id, sessionId: res.body.session.id, accessToken: res.body.accessToken, jar, csrf: csrf.body.csrfToken };
}

/** POST /auth/refresh with the jar's cookie (or the given cookie header). Does not update the jar. */
export function refreshWith(base: string, s: Signed, cookieHeader = s.jar.header()): Promise<Reply> {
  return call(base, 'POST', '/auth/refresh', { headers: { cookie: cookieHeader, 'x-csrf-token': s.csrf } });
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** GET /me with a token: the suite's probe of "is this token accepted right now". */
export function me(base: string, token: string): Promise<Reply> {
  return call(base, 'GET', '/me', { headers: bearer(token) });
}

/** True when an answer is a contract problem+json. */
export function isProblem(r: Reply): boolean {
  return /^application\/problem\+json/.test(r.contentType) && typeof r.body?.code === 'string' && r.body.status === r.status;
}
