/**
 * The worker's own view of revocation lag: `latchkey_revocation_lag_seconds` (from the event row
 * being stored to the worker's Redis write-through returning), read from its /metrics before and
 * after a phase. The difference of the cumulative buckets is the phase's histogram; quantiles are
 * interpolated linearly inside a bucket (Prometheus' histogram_quantile), so they are estimates to
 * the bucket's resolution. It separates the pipeline's lag from the probe's resolution.
 */
export type Buckets = Map<number, number>;

const LINE = /^latchkey_revocation_lag_seconds_bucket\{[^}]*le="([^"]+)"[^}]*\} (\S+)$/;

/** Cumulative counts per upper bound, summed over event types. */
export async function readRevocationBuckets(workerUrl: string): Promise<Buckets> {
  const text = await (await fetch(`${workerUrl}/metrics`)).text();
  const buckets: Buckets = new Map();
  for (const line of text.split('\n')) {
    const m = LINE.exec(line);
    if (!m) continue;
    const le = m[1] === '+Inf' ? Infinity : Number(m[1]);
    buckets.set(le, (buckets.get(le) ?? 0) + Number(m[2]));
  }
  return buckets;
}

/** The q-quantile (0..1) in seconds of what was observed between `before` and `after`. */
export function quantileBetween(before: Buckets, after: Buckets, q: number): { value: number; count: number } {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const counts = bounds.map((le) => (after.get(le) ?? 0) - (before.get(le) ?? 0));
  const total = counts[counts.length - 1] ?? 0;
  if (total === 0) return { value: NaN, count: 0 };
  const rank = q * total;
  for (let i = 0; i < bounds.length; i++) {
    if (counts[i]! >= rank) {
      const lower = i === 0 ? 0 : bounds[i - 1]!;
      const below = i === 0 ? 0 : counts[i - 1]!;
      if (bounds[i] === Infinity) return { value: lower, count: total };
      const inBucket = counts[i]! - below;
      return { value: lower + (bounds[i]! - lower) * (inBucket ? (rank - below) / inBucket : 1), count: total };
    }
  }
  return { value: NaN, count: total };
}
