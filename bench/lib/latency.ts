/** Latency figures from per-request samples (milliseconds, high resolution). */
export interface LatencySummary {
  readonly requests: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
  /** Requests per second: requests over the wall time spent measuring them. */
  readonly throughput: number;
}

/** The `p`-th percentile (0-100) of sorted samples, linearly interpolated between the closest ranks. */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.min(lo + 1, sorted.length - 1);
  const a = sorted[lo] ?? Number.NaN;
  const b = sorted[hi] ?? Number.NaN;
  return a + (b - a) * (rank - lo);
}

/** Summarises latency samples (any order) measured over `wallMs` of wall time. */
export function summarise(samples: Float64Array, wallMs: number): LatencySummary {
  const sorted = Float64Array.from(samples).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    requests: sorted.length,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1] ?? Number.NaN,
    mean: sum / sorted.length,
    throughput: sorted.length / (wallMs / 1000),
  };
}

/** Concatenates sample blocks (e.g. interleaved rounds of one measurement). */
export function concatSamples(blocks: readonly Float64Array[]): Float64Array {
  const out = new Float64Array(blocks.reduce((n, b) => n + b.length, 0));
  let at = 0;
  for (const b of blocks) {
    out.set(b, at);
    at += b.length;
  }
  return out;
}

export const fmtLatency = {
  ms: (v: number) => `${v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)} ms`,
  /** A difference, signed. */
  delta: (v: number) => `${v >= 0 ? '+' : '−'}${fmtLatency.ms(Math.abs(v))}`,
  rps: (v: number) => `${v >= 1000 ? Math.round(v).toLocaleString('en-US') : v.toFixed(0)} req/s`,
};

/** Median wall time in µs of `fn`, run `n` times one after another (after `n / 10` unrecorded runs). */
export async function medianUs(n: number, fn: () => Promise<unknown> | unknown): Promise<number> {
  for (let i = 0; i < Math.ceil(n / 10); i++) await fn();
  const times = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn();
    times[i] = (performance.now() - t0) * 1000;
  }
  return summarise(times, 1).p50;
}
