/**
 * Coordination between the tabs of one browser profile: an exclusive Web Lock so only one tab
 * rotates the refresh cookie at a time, and a BroadcastChannel to hand the result (or a sign-out)
 * to the others. Both are in-memory browser facilities: nothing here touches Web Storage.
 */

/** What one tab tells the others. The token travels in memory only, to same-origin tabs. */
export type TabMessage =
  | {
      type: 'token';
      accessToken: string;
      /** Milliseconds the token has left, so each tab computes the expiry on its own clock. */
      remainingMs: number;
      lifetimeMs: number;
      user: unknown;
      sessionId: string;
      organization: unknown;
    }
  | { type: 'signed-out'; reason: string }
  /** A tab took the lock (sent first) or is about to let it go (sent after any result it announced). */
  | { type: 'acquired' | 'released'; holder: string };

/**
 * How long a tab that waited for the lock still waits, once it holds it, for the `released`
 * notice of the tabs that held it before (normally already there; this only bounds a holder that
 * was closed mid-refresh).
 */
const RELEASE_NOTICE_WAIT_MS = 1_000;

/** The lock and the channel, each optional: without them the client still works in one tab. */
export class TabSync {
  private readonly channel: BroadcastChannel | undefined;
  private readonly lockName: string;
  private readonly id = Math.random().toString(36).slice(2);
  /** Other tabs that announced they hold the lock and have not announced its release yet. */
  private readonly holders = new Set<string>();
  private wakeWaiters: Array<() => void> = [];

  constructor(name: string, onMessage: (message: TabMessage) => void) {
    this.lockName = `${name}:refresh`;
    this.channel = typeof BroadcastChannel === 'function' ? new BroadcastChannel(name) : undefined;
    if (this.channel) {
      this.channel.onmessage = (event: MessageEvent<TabMessage>) => {
        const message = event.data;
        if (message?.type === 'acquired') this.holders.add(message.holder);
        else if (message?.type === 'released') this.release(message.holder);
        else onMessage(message);
      };
    }
  }

  /**
   * Runs `fn` while holding the profile-wide lock (or directly when Web Locks are missing).
   * Messages from one tab arrive in order, but a lock grant can overtake them; so before running
   * `fn` a tab first takes in everything the previous holders announced (their `released` notice
   * comes last), and `fn` can then see that the work was already done.
   */
  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const locks = typeof navigator !== 'undefined' ? navigator.locks : undefined;
    if (!locks) return fn();
    return locks.request(this.lockName, { mode: 'exclusive' }, async () => {
      await this.previousHoldersDone();
      this.post({ type: 'acquired', holder: this.id });
      try {
        return await fn();
      } finally {
        this.post({ type: 'released', holder: this.id });
      }
    }) as Promise<T>;
  }

  post(message: TabMessage): void {
    this.channel?.postMessage(message);
  }

  close(): void {
    this.channel?.close();
    this.holders.clear();
    this.release('');
  }

  private previousHoldersDone(): Promise<void> {
    if (this.holders.size === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.holders.clear(); // we hold the lock now: nobody else does
        resolve();
      };
      const timer = setTimeout(done, RELEASE_NOTICE_WAIT_MS);
      const check = () => (this.holders.size === 0 ? done() : this.wakeWaiters.push(check));
      this.wakeWaiters.push(check);
    });
  }

  private release(holder: string): void {
    this.holders.delete(holder);
    const waiters = this.wakeWaiters;
    this.wakeWaiters = [];
    for (const wake of waiters) wake();
  }
}
