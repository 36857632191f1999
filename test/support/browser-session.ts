import type { Harness } from './harness';
import { PASSWORD, uniqueEmail } from './harness';

/** Cookies as a browser would keep them: name -> value, from Set-Cookie headers. */
export class CookieJar {
  readonly cookies = new Map<string, string>();
  store(setCookie: string[] | string | undefined): void {
    for (const line of ([] as string[]).concat(setCookie ?? [])) {
      const [pair] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      if (!value || /max-age=0|expires=thu, 01 jan 1970/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }
  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
  get(name: string): string | undefined {
    return this.cookies.get(name);
  }
}

/** A signed-in browser: its cookie jar, CSRF token and current access token. */
export interface BrowserSession {
  jar: CookieJar;
  csrf: string;
  accessToken: string;
  sessionId: string;
  userId: string;
  email: string;
}

export async function registerUser(h: Harness, email = uniqueEmail(), password = PASSWORD): Promise<string> {
  const res = await h.http.post('/auth/register').send({ email, password, name: 'Test User' });
  if (res.status !== 202) throw new Error(`register failed: ${res.status} ${res.text}`);
  return email;
}

export async function csrfFor(h: Harness, jar: CookieJar): Promise<string> {
  const res = await h.http.get('/auth/csrf').set('Cookie', jar.header());
  jar.store(res.headers['set-cookie']);
  return res.body.csrfToken;
}

/** Registers (unless an email is given), signs in, and fetches a CSRF token, like a browser app. */
export async function signIn(
  h: Harness,
  options: { email?: string; password?: string; organizationId?: string; deviceName?: string } = {},
): Promise<BrowserSession> {
  const email = options.email ?? (await registerUser(h));
  const jar = new CookieJar();
  const res = await h.http
    .post('/auth/login')
    .send({ email, password: options.password ?? PASSWORD, organizationId: options.organizationId, deviceName: options.deviceName });
  if (res.status !== 200) throw new Error(`login failed: ${res.status} ${res.text}`);
  jar.store(res.headers['set-cookie']);
  const csrf = await csrfFor(h, jar);
  return { jar, csrf, accessToken: res.body.accessToken, sessionId: res.body.session.id, userId: res.body.user.id, email };
}

/** POST /auth/refresh with the session's cookie and CSRF token; updates the jar and token on success. */
export async function refresh(h: Harness, s: BrowserSession, cookieHeader = s.jar.header()) {
  const res = await h.http.post('/auth/refresh').set('Cookie', cookieHeader).set('X-CSRF-Token', s.csrf);
  if (res.status === 200) {
    s.jar.store(res.headers['set-cookie']);
    s.accessToken = res.body.accessToken;
  }
  return res;
}
