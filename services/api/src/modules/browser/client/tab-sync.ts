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
  | { type: 'signed-out'; reason: string };

/** The lock and the channel, each optional: without them the client still works in one tab. */
export class TabSync {
  private readonly channel: BroadcastChannel | undefined;
  private readonly lockName: string;

  constructor(name: string, onMessage: (message: TabMessage) => void) {
    this.lockName = `${name}:refresh`;
    this.channel = typeof BroadcastChannel === 'function' ? new BroadcastChannel(name) : undefined;
    if (this.channel) this.channel.onmessage = (event: MessageEvent<TabMessage>) => onMessage(event.data);
  }

  /** Runs `fn` while holding the profile-wide refresh lock (or directly when Web Locks are missing). */
  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const locks = typeof navigator !== 'undefined' ? navigator.locks : undefined;
    if (!locks) return fn();
    return locks.request(this.lockName, { mode: 'exclusive' }, fn) as Promise<T>;
  }

  post(message: TabMessage): void {
    this.channel?.postMessage(message);
  }

  close(): void {
    this.channel?.close();
  }
}
