import { cookiePair, csrfPair, type BenchSession, type BenchUser } from '../lib/fixtures';

interface Member {
  user: BenchUser;
  session: BenchSession;
  csrf: { token: string; cookie: string };
  role: 'member' | 'viewer';
}

/**
 * Members whose role is changed again and again: after each change the old token is refused and
 * the member refreshes (as a browser would, rotating its cookie) to get a token with the new
 * permissions version, then goes back to the pool. Saves one argon2 sign-in per role change.
 */
export class RoleChangePool {
  private readonly free: Member[] = [];
  private readonly waiting: Array<(m: Member) => void> = [];
  private readonly roles = new Map<string, Member['role']>();

  constructor(
    private readonly apiUrl: string,
    private readonly users: BenchUser[],
    private readonly sessions: BenchSession[],
  ) {}

  async prepare(): Promise<void> {
    for (let i = 0; i < this.users.length; i++) {
      this.free.push({ user: this.users[i]!, session: this.sessions[i]!, csrf: await csrfPair(this.apiUrl), role: 'member' });
    }
  }

  /** A member whose current token is valid (waits for one to come back if all are in use). */
  take(): Promise<Member> {
    const m = this.free.shift();
    if (m) return Promise.resolve(m);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** The role to change this member to (alternating, so every event is a real change). */
  nextRole(userId: string): Member['role'] {
    const next = this.roles.get(userId) === 'viewer' ? 'member' : 'viewer';
    this.roles.set(userId, next);
    return next;
  }

  /** Refreshes the member's session (new token with the new `pv`) and returns it to the pool. */
  async give(m: Member): Promise<void> {
    const res = await fetch(`${this.apiUrl}/auth/refresh`, {
      method: 'POST',
      headers: { cookie: `${m.session.refreshCookie}; ${m.csrf.cookie}`, 'x-csrf-token': m.csrf.token },
    });
    if (res.status !== 200) throw new Error(`refresh after a role change: ${res.status} ${await res.text()}`);
    const body = (await res.json()) as { accessToken: string };
    const member = { ...m, session: { ...m.session, accessToken: body.accessToken, refreshCookie: cookiePair(res, '__Host-lk_rt') } };
    const waiter = this.waiting.shift();
    if (waiter) waiter(member);
    else this.free.push(member);
  }
}
