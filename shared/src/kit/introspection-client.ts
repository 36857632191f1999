import { AppError } from '../errors/app-error';

/** Where and how the kit asks Latchkey when its Redis cannot answer. */
export interface IntrospectionOptions {
  /** Latchkey's `POST /v1/introspect` URL, e.g. `https://auth.example.com/v1/introspect`. */
  url: string;
  /** A service credential (`lk_svc_...`) holding the `introspect` scope. */
  credential: string;
  /** Per call; default 2000 ms. */
  timeoutMs?: number;
}

/** The RFC 7662 answer of Latchkey's introspection (the fields the kit uses). */
export type IntrospectionResult =
  | { active: false }
  | { active: true; sub: string; sid: string; org?: string; mid?: string; pv?: number; permissions?: string[]; exp: number };

/**
 * Calls Latchkey's introspection endpoint. Latchkey runs the full verification against Postgres
 * and writes the missing keys back into the shared Redis, so the kit's next read hits. Any failure
 * (network, timeout, non-200) is `service_unavailable`: never acceptance.
 */
export async function introspect(options: IntrospectionOptions, token: string): Promise<IntrospectionResult> {
  let res: Response;
  try {
    res = await fetch(options.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${options.credential}`, accept: 'application/json' },
      body: JSON.stringify({ token }),
      signal: AbortSignal.timeout(options.timeoutMs ?? 2_000),
    });
  } catch (err) {
    throw new AppError('service_unavailable', { detail: 'introspection unreachable', cause: err });
  }
  if (res.status !== 200) {
    await res.body?.cancel().catch(() => undefined);
    throw new AppError('service_unavailable', { detail: `introspection answered ${res.status}` });
  }
  const body = (await res.json().catch(() => undefined)) as IntrospectionResult | undefined;
  if (!body || typeof body.active !== 'boolean') throw new AppError('service_unavailable', { detail: 'introspection answer malformed' });
  return body;
}
