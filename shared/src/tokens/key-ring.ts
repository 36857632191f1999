import { createLocalJWKSet, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import type { Sequelize } from 'sequelize';
import { createSigningKey, loadSigningKeys, type SigningAlgorithm, type SigningKey } from './signing-keys';

/**
 * The API's signing keys, loaded from Postgres and reloaded periodically (and when a token names a
 * `kid` we have not seen, at most every few seconds), so `keys rotate` reaches every process.
 */
export class KeyRing {
  private keys: SigningKey[] = [];
  private jwks: JSONWebKeySet = { keys: [] };
  private resolver: JWTVerifyGetKey = createLocalJWKSet(this.jwks);
  private lastLoad = 0;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly db: Sequelize,
    private readonly options: { algorithm: SigningAlgorithm; secret: string; verifyWindow: number; createIfMissing: boolean },
  ) {}

  /** Loads the keys; in development, creates the first one. Production refuses to run without one. */
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
  }

  stop(): void {
    clearInterval(this.timer);
  }

  async reload(): Promise<void> {
    this.lastLoad = Date.now();
    this.keys = await loadSigningKeys(this.db, this.options.secret, this.options.verifyWindow);
    this.jwks = { keys: this.keys.map((k) => k.publicJwk) };
    this.resolver = createLocalJWKSet(this.jwks);
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

  /** Key lookup for jose; an unknown kid triggers one throttled reload before giving up. */
  readonly getKey: JWTVerifyGetKey = async (header, token) => {
    if (header.kid && !this.jwks.keys.some((k) => k.kid === header.kid) && Date.now() - this.lastLoad > 5_000) {
      await this.reload().catch(() => undefined);
    }
    return this.resolver(header, token);
  };
}
