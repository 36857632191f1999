/**
 * Finds recorded secrets in large amounts of text quickly. Long base64url secrets (tokens,
 * credentials, challenge ids, MFA secrets) are matched by a distinctive slice, looked up in a set
 * for every window of the text's base64url runs; short or spaced ones (passwords, recovery codes)
 * by plain substring search.
 */
export interface Secret {
  kind: string;
  value: string;
}

export interface Hit {
  kind: string;
  source: string;
  excerpt: string;
}

const WINDOW = 16;
const RUN = /[A-Za-z0-9_-]{16,}/g;

/** The part of a secret that must never appear: a JWT's signature, a credential without its prefix. */
function distinctive(secret: Secret): string {
  if (secret.kind === 'access_token') return secret.value.split('.')[2] ?? secret.value;
  if (secret.value.startsWith('lk_svc_')) return secret.value.slice('lk_svc_'.length);
  return secret.value;
}

export class SecretScanner {
  private readonly slices = new Map<string, string>();
  private readonly plain: Secret[] = [];

  constructor(secrets: Secret[]) {
    for (const s of secrets) {
      const core = distinctive(s);
      if (/^[A-Za-z0-9_-]+$/.test(core) && core.length >= WINDOW) this.slices.set(core.slice(0, WINDOW), s.kind);
      else this.plain.push(s);
    }
  }

  /** Every secret found in `text` (`source` says where the text came from). */
  scan(source: string, text: string): Hit[] {
    const hits: Hit[] = [];
    for (const match of text.matchAll(RUN)) {
      const run = match[0];
      for (let i = 0; i + WINDOW <= run.length; i++) {
        const kind = this.slices.get(run.slice(i, i + WINDOW));
        if (kind) hits.push({ kind, source, excerpt: excerpt(text, (match.index ?? 0) + i) });
      }
    }
    for (const s of this.plain) {
      const at = text.indexOf(s.value);
      if (at >= 0) hits.push({ kind: s.kind, source, excerpt: excerpt(text, at) });
    }
    return hits;
  }
}

/** Where a hit is, without printing the secret itself in the test report. */
function excerpt(text: string, at: number): string {
  return `${text.slice(Math.max(0, at - 80), at).replace(/\s+/g, ' ')}[secret at offset ${at}]`;
}
