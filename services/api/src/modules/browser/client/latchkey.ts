/**
 * The Latchkey browser client, served by the API at `/client/latchkey.js` (an ES module).
 *
 * - The access token lives in this object's memory only; the refresh token is an HttpOnly cookie
 *   the script never sees. Nothing is written to localStorage, sessionStorage or document.cookie.
 * - The token is refreshed shortly before it expires (timed on the local clock from `expiresIn`,
 *   so a skewed client clock does not matter), and once more on `token_expired` or
 *   `permissions_stale`, after which the failed request is retried once.
 * - One refresh at a time across the tabs of a profile (Web Locks); the result, and sign-outs,
 *   are shared with the other tabs over a BroadcastChannel.
 */
import { LatchkeyError, RETRY_CODES, SESSION_ENDING_CODES, readProblem } from './problem';
import { TabSync, type TabMessage } from './tab-sync';

export { LatchkeyError } from './problem';

export interface LatchkeyUser {
  id: string;
  email: string;
  name: string | null;
  emailVerified: boolean;
}

export interface LatchkeyOrganization {
  id: string;
  name: string;
}

/** What the app renders from: who is signed in, or why nobody is. */
export type LatchkeyState =
  | { status: 'signed-in'; user: LatchkeyUser; sessionId: string; organization: LatchkeyOrganization | null }
  | { status: 'signed-out'; reason: string };

export interface LatchkeyOptions {
  /** Origin of the Latchkey API, e.g. `https://auth.example.com`; empty for the page's own origin. */
  baseUrl?: string;
  /** Refresh this long before expiry (default 30 s; at most half the token's lifetime). */
  refreshLeadSeconds?: number;
  /** Shared by every tab of one app: names the lock and the channel (default `latchkey`). */
  name?: string;
}

interface TokenBody {
  accessToken: string;
  expiresIn: number;
  session: { id: string };
  user: LatchkeyUser;
  organization?: LatchkeyOrganization;
}

/** A token this close to expiry is not sent any more; it is refreshed first. */
const MIN_USABLE_MS = 5_000;
/** After a failed background refresh (network, 5xx) try again this much later. */
const RETRY_AFTER_FAILURE_MS = 5_000;
const JSON_HEADERS = { 'Content-Type': 'application/json' };

/** The client an app creates once per page. See the module comment for the guarantees. */
export class LatchkeyClient {
  private token: string | undefined;
  private expiresAt = 0;
  private lifetimeMs = 0;
  /** Bumped whenever the token changes (here or from another tab). */
  private generation = 0;
  private state: LatchkeyState = { status: 'signed-out', reason: 'not_signed_in' };
  private csrfToken: string | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private inflight: Promise<boolean> | undefined;
  private readonly listeners = new Set<(state: LatchkeyState) => void>();
  private readonly sync: TabSync;
  private readonly baseUrl: string;
  private readonly leadMs: number;
  private readonly onVisible = () => {
    if (document.visibilityState === 'visible' && this.token && this.remainingMs() < this.refreshLeadMs()) {
      this.refresh().catch(() => this.schedule(RETRY_AFTER_FAILURE_MS));
    }
  };
  /** How many refresh requests this tab sent (the demo shows it; tests read it). */
  refreshCount = 0;

  constructor(options: LatchkeyOptions = {}) {
    this.baseUrl = (options.baseUrl ?? '').replace(/\/$/, '');
    this.leadMs = (options.refreshLeadSeconds ?? 30) * 1000;
    this.sync = new TabSync(options.name ?? 'latchkey', (m) => this.onTabMessage(m));
    if (typeof document !== 'undefined') document.addEventListener('visibilitychange', this.onVisible);
  }

  get current(): LatchkeyState {
    return this.state;
  }

  /** Calls `listener` on every change of state; returns the unsubscribe function. */
  subscribe(listener: (state: LatchkeyState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** On page load: signs in silently from the refresh cookie, if there is a live one. */
  async restore(): Promise<LatchkeyState> {
    await this.refresh();
    return this.state;
  }

  async register(email: string, password: string, name?: string): Promise<void> {
    const res = await this.raw('/auth/register', { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify({ email, password, name }) });
    if (res.status !== 202) throw await readProblem(res);
  }

  /** Signs in; resolves with the MFA challenge instead when the account has MFA. */
  async signIn(
    email: string,
    password: string,
    extra: { organizationId?: string; deviceName?: string } = {},
  ): Promise<{ mfaRequired: false; user: LatchkeyUser } | { mfaRequired: true; challengeId: string }> {
    const res = await this.raw('/auth/login', { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify({ email, password, ...extra }) });
    if (!res.ok) throw await readProblem(res);
    const body = (await res.json()) as TokenBody | { mfaRequired: true; challengeId: string };
    if ('mfaRequired' in body) return { mfaRequired: true, challengeId: body.challengeId };
    this.adopt(body, true);
    return { mfaRequired: false, user: body.user };
  }

  async verifyMfa(challengeId: string, code: string): Promise<LatchkeyUser> {
    const res = await this.raw('/auth/mfa/verify', { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify({ challengeId, code }) });
    if (!res.ok) throw await readProblem(res);
    const body = (await res.json()) as TokenBody;
    this.adopt(body, true);
    return body.user;
  }

  /**
   * A fetch against the API with the access token: refreshes first when the token is about to
   * expire, and on `token_expired`/`permissions_stale` refreshes once and retries once (so the
   * body must be re-sendable: a string, not a stream). Other token refusals sign this browser out.
   */
  async fetch(path: string, init: RequestInit = {}): Promise<Response> {
    const used = await this.getAccessToken();
    const res = await this.raw(path, withBearer(init, used));
    if (res.status !== 401) return res;
    const { code } = await readProblem(res);
    if (!RETRY_CODES.has(code)) {
      if (SESSION_ENDING_CODES.has(code)) this.signedOut(code, true);
      return res;
    }
    const fresh = this.token !== used && this.remainingMs() > MIN_USABLE_MS ? true : await this.refresh();
    if (!fresh || !this.token) return res;
    const retried = await this.raw(path, withBearer(init, this.token));
    if (retried.status === 401) {
      const again = await readProblem(retried);
      if (SESSION_ENDING_CODES.has(again.code)) this.signedOut(again.code, true);
    }
    return retried;
  }

  /** A usable access token (refreshed first if needed), for calls to the app's own backend. */
  async getAccessToken(): Promise<string> {
    if (this.token && this.remainingMs() > MIN_USABLE_MS) return this.token;
    if (this.state.status !== 'signed-in' || !(await this.refresh()) || !this.token) {
      throw new LatchkeyError('not_signed_in', 401, 'Sign in first');
    }
    return this.token;
  }

  /**
   * Rotates the refresh cookie for a new access token, one tab at a time. A tab that waited for
   * the lock while another tab refreshed takes that tab's result instead of refreshing again.
   * Resolves false when the session is over (the state is then signed-out); rejects on network
   * or server failure, leaving the state as it was.
   */
  refresh(): Promise<boolean> {
    if (!this.inflight) {
      const seen = this.generation;
      this.inflight = this.sync
        .exclusive(async () => (this.generation !== seen && this.remainingMs() > MIN_USABLE_MS ? true : this.rotate()))
        .finally(() => {
          this.inflight = undefined;
        });
    }
    return this.inflight;
  }

  async me(): Promise<unknown> {
    return this.call('/me');
  }

  async sessions(): Promise<{ sessions: Array<Record<string, unknown> & { id: string; current: boolean }> }> {
    return (await this.call('/sessions')) as { sessions: Array<Record<string, unknown> & { id: string; current: boolean }> };
  }

  async revokeSession(id: string): Promise<void> {
    await this.call(`/sessions/${encodeURIComponent(id)}`, { method: 'DELETE' });
    if (this.state.status === 'signed-in' && this.state.sessionId === id) this.signedOut('session_revoked', true);
  }

  /** Changes the password, keeping this session (other sessions are revoked by the server). */
  async changePassword(currentPassword: string, newPassword: string): Promise<void> {
    const res = await this.fetch('/auth/password/change', {
      method: 'POST',
      headers: JSON_HEADERS,
      body: JSON.stringify({ currentPassword, newPassword, keepCurrentSession: true }),
    });
    if (!res.ok) throw await readProblem(res);
    this.adopt((await res.json()) as TokenBody, true);
  }

  /** Signs this session out (cookie + CSRF, so it works with an expired access token) in every tab. */
  async signOut(): Promise<void> {
    await this.sync.exclusive(async () => {
      const res = await this.cookiePost('/auth/logout');
      // 401: the cookie was already dead, which is the outcome asked for.
      if (!res.ok && res.status !== 401) throw await readProblem(res);
      this.signedOut('signed_out', true);
    });
  }

  /** Revokes every session of the user, on every device, and signs every tab here out. */
  async signOutEverywhere(): Promise<void> {
    await this.call('/auth/logout-all', { method: 'POST' });
    this.signedOut('signed_out_everywhere', true);
  }

  /** Stops timers and the channel (for pages that create and drop clients). */
  close(): void {
    clearTimeout(this.timer);
    this.sync.close();
    if (typeof document !== 'undefined') document.removeEventListener('visibilitychange', this.onVisible);
  }

  private async call(path: string, init: RequestInit = {}): Promise<unknown> {
    const res = await this.fetch(path, init);
    if (!res.ok) throw await readProblem(res);
    return res.status === 204 ? undefined : res.json();
  }

  private async rotate(): Promise<boolean> {
    const wasSignedIn = this.state.status === 'signed-in';
    this.refreshCount += 1;
    const res = await this.cookiePost('/auth/refresh');
    if (res.ok) {
      this.adopt((await res.json()) as TokenBody, true);
      return true;
    }
    const problem = await readProblem(res);
    if (res.status !== 401) throw problem;
    this.signedOut(problem.code, wasSignedIn);
    return false;
  }

  /** POST to a cookie-authenticated route with the CSRF header; fetches a new CSRF token once if refused. */
  private async cookiePost(path: string): Promise<Response> {
    for (let attempt = 0; ; attempt++) {
      const csrf = this.csrfToken ?? (await this.fetchCsrfToken());
      const res = await this.raw(path, { method: 'POST', headers: { 'X-CSRF-Token': csrf } });
      if (attempt === 0 && res.status === 403 && (await readProblem(res)).code === 'csrf_invalid') {
        this.csrfToken = undefined;
        continue;
      }
      return res;
    }
  }

  private async fetchCsrfToken(): Promise<string> {
    const res = await this.raw('/auth/csrf', { method: 'GET' });
    if (!res.ok) throw await readProblem(res);
    const { csrfToken } = (await res.json()) as { csrfToken: string };
    this.csrfToken = csrfToken;
    return csrfToken;
  }

  private raw(path: string, init: RequestInit): Promise<Response> {
    const headers = new Headers(init.headers);
    headers.set('Accept', 'application/json');
    return fetch(`${this.baseUrl}${path}`, { ...init, headers, credentials: 'include', cache: 'no-store' });
  }

  private adopt(body: TokenBody, announce: boolean, remainingMs = body.expiresIn * 1000): void {
    this.token = body.accessToken;
    this.lifetimeMs = body.expiresIn * 1000;
    this.expiresAt = Date.now() + remainingMs;
    this.generation += 1;
    this.setState({ status: 'signed-in', user: body.user, sessionId: body.session.id, organization: body.organization ?? null });
    this.schedule();
    if (announce) {
      this.sync.post({
        type: 'token',
        accessToken: body.accessToken,
        remainingMs,
        lifetimeMs: this.lifetimeMs,
        user: body.user,
        sessionId: body.session.id,
        organization: body.organization ?? null,
      });
    }
  }

  private signedOut(reason: string, announce: boolean): void {
    clearTimeout(this.timer);
    this.token = undefined;
    this.expiresAt = 0;
    this.generation += 1;
    this.setState({ status: 'signed-out', reason });
    if (announce) this.sync.post({ type: 'signed-out', reason });
  }

  private onTabMessage(message: TabMessage): void {
    if (message.type === 'signed-out') {
      if (this.state.status === 'signed-in') this.signedOut(message.reason, false);
      return;
    }
    if (message.type !== 'token') return;
    const body: TokenBody = {
      accessToken: message.accessToken,
      expiresIn: message.lifetimeMs / 1000,
      session: { id: message.sessionId },
      user: message.user as LatchkeyUser,
      ...(message.organization ? { organization: message.organization as LatchkeyOrganization } : {}),
    };
    this.adopt(body, false, message.remainingMs);
  }

  private refreshLeadMs(): number {
    return Math.min(this.leadMs, this.lifetimeMs / 2);
  }

  private remainingMs(): number {
    return this.token ? this.expiresAt - Date.now() : 0;
  }

  /** Arms the proactive refresh: `lead` before expiry, or after `delayMs` when retrying. */
  private schedule(delayMs?: number): void {
    clearTimeout(this.timer);
    if (this.state.status !== 'signed-in') return;
    const delay = delayMs ?? Math.max(0, this.remainingMs() - this.refreshLeadMs());
    this.timer = setTimeout(() => {
      this.refresh().catch(() => this.schedule(RETRY_AFTER_FAILURE_MS));
    }, delay);
  }

  private setState(next: LatchkeyState): void {
    this.state = next;
    for (const listener of this.listeners) listener(next);
  }
}

function withBearer(init: RequestInit, token: string): RequestInit {
  const headers = new Headers(init.headers);
  headers.set('Authorization', `Bearer ${token}`);
  return { ...init, headers };
}

/** Creates the page's client (one per page; the tabs find each other by `name`). */
export function createLatchkey(options: LatchkeyOptions = {}): LatchkeyClient {
  return new LatchkeyClient(options);
}
