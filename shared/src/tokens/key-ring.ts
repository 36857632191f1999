import { setTimeout as sleep } from 'node:timers/promises';
import { createLocalJWKSet, type FlattenedJWSInput, type JSONWebKeySet, type JWSHeaderParameters, type JWTVerifyGetKey } from 'jose';
import type { Sequelize } from 'sequelize';
import type { Logger } from '../logging/logger';
import { withTimeout } from '../util/with-timeout';
import { SigningKeyNoticeListener } from './signing-key-notices';
import { createSigningKey, loadSigningKeys, type SigningAlgorithm, type SigningKey } from './signing-keys';

/** Tokens naming a kid we do not hold cause at most one reload per this interval. */
const UNKNOWN_KID_RELOAD_INTERVAL_MS = 1_000;

/** Raw signature sizes (bytes) of our algorithms: RS256's is the modulus size, 2048 to 8192 bits. */
const SIGNATURE_BYTES: Record<SigningAlgorithm, [number, number]> = { ES256: [64, 64], EdDSA: [64, 64], RS256: [256, 1024] };

export interface KeyRingOptions {
  algorithm: SigningAlgorithm;
  secret: string;
  verifyWindow: number;
  createIfMissing: boolean;
  /**
   * Postgres URL for the connection that hears of key changes as they commit. Without it the ring
   * learns of a rotation from the periodic reload, or from a token that names the new kid.
   */
  noticesFrom?: string;
  logger?: Logger;
}

/**
 * The API's signing keys, loaded from Postgres. A rotation reaches the ring at once through a
 * Postgres notice (signing-key-notices.ts); a periodic reload is the fallback when notices cannot
 * arrive, and a token naming a kid we do not hold waits for a reload, since a sibling process may
 * already sign with a key whose notice has not reached us yet.
 */
export class KeyRing {
  private keys: SigningKey[] = [];
  private jwks: JSONWebKeySet = { keys: [] };
  private resolver: JWTVerifyGetKey = createLocalJWKSet(this.jwks);
  private loading?: Promise<void>;
  private next?: Promise<void>;
  private unknownKidReload?: Promise<void>;
  private lastUnknownKidReload = -Infinity;
  private timer?: NodeJS.Timeout;
  private notices?: SigningKeyNoticeListener;

  constructor(
    private readonly db: Sequelize,
    private readonly options: KeyRingOptions,
  ) {}

  /**
   * Loads the keys; in development, creates the first one. Production refuses to run without one.
   * The notice connection is opened in the background: start-up neither waits for it nor fails on it.
   */
  async start(reloadEveryMs = 60_000): Promise<void> {
    await this.reload();
    if (!this.signingKeyOrNull() && this.options.createIfMissing) {
      await createSigningKey(this.db, this.options.algorithm, this.options.secret);
      await this.reload();
    }
    if (!this.signingKeyOrNull()) {
      throw new Error(`No ${this.options.algorithm} signing key configured: run \`npm run cli -- keys rotate\` first`);
    }
    this.timer = setInterval(() => void this.reload().catch(() => undefined), reloadEveryMs);
    this.timer.unref();
    if (this.options.noticesFrom) {
      this.notices = new SigningKeyNoticeListener(
        this.options.noticesFrom,
        () => void this.reload().catch(() => undefined),
        this.options.logger?.child({ module: 'key-ring' }),
      );
      this.notices.start();
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await withTimeout(this.notices?.close() ?? Promise.resolve(), 2_000);
  }

  /**
   * Reloads the keys. Resolves once a load that *started after this call* has finished, so a caller
   * that knows of a change (a notice, an unknown kid) is sure to see it: joining a load already
   * running would not do, as it may have read before the change committed. Concurrent calls are
   * merged: every call made before the next load starts is served by that one load, which starts
   * when the running one (if any) ends. So one load runs at most, and one waits.
   */
  reload(): Promise<void> {
    this.next ??= (this.loading ?? Promise.resolve())
      .catch(() => undefined)
      .then(() => {
        this.next = undefined;
        return this.load();
      });
    return this.next;
  }

  private load(): Promise<void> {
    const load = (async () => {
      const keys = await loadSigningKeys(this.db, this.options.secret, this.options.verifyWindow);
      this.keys = keys;
      this.jwks = { keys: keys.map((k) => k.publicJwk) };
      this.resolver = createLocalJWKSet(this.jwks);
    })().finally(() => {
      this.loading = undefined;
    });
    this.loading = load;
    return load;
  }

  /** The newest unretired key of the configured algorithm. */
  signingKey(): SigningKey {
    const key = this.signingKeyOrNull();
    if (!key) throw new Error('no signing key loaded');
    return key;
  }

  private signingKeyOrNull(): SigningKey | undefined {
    return this.keys.find((k) => k.alg === this.options.algorithm && !k.retiredAt);
  }

  /** The public keys for `/.well-known/jwks.json`. */
  publicJwks(): JSONWebKeySet {
    return this.jwks;
  }

  /** Key lookup for jose; a kid we do not hold waits for one reload (see reloadForUnknownKid). */
  readonly getKey: JWTVerifyGetKey = async (header, token) => {
    if (header.kid && !this.jwks.keys.some((k) => k.kid === header.kid) && this.couldBeOurs(header, token)) {
      await this.reloadForUnknownKid().catch(() => undefined);
    }
    return this.resolver(header, token);
  };

  /**
   * A token signed by a sibling process with a key rotated in a moment ago (its notice not yet
   * here) must not be refused, so it waits for a reload that starts after it arrived. Every such
   * token meanwhile shares that reload, and they start at most once per interval: a flood of
   * made-up kids costs Postgres one query per interval, and each of those requests that long at most.
   */
  private reloadForUnknownKid(): Promise<void> {
    if (!this.unknownKidReload) {
      const wait = Math.max(0, this.lastUnknownKidReload + UNKNOWN_KID_RELOAD_INTERVAL_MS - Date.now());
      this.unknownKidReload = sleep(wait, undefined, { ref: false }).then(() => {
        this.unknownKidReload = undefined;
        this.lastUnknownKidReload = Date.now();
        return this.reload();
      });
    }
    return this.unknownKidReload;
  }

  /** Our algorithm, and a signature of its size: anything else is refused without a reload. */
  private couldBeOurs(header: JWSHeaderParameters, token: FlattenedJWSInput): boolean {
    if (header.alg !== this.options.algorithm || typeof token.signature !== 'string') return false;
    const [min, max] = SIGNATURE_BYTES[this.options.algorithm];
    const bytes = Buffer.byteLength(token.signature, 'base64url');
    return bytes >= min && bytes <= max;
  }
}
