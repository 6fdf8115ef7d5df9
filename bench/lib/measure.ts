import { Bench } from 'tinybench';

export interface Throughput {
  /** Megabytes (10^6 bytes of UTF-16 code units, i.e. characters) per second, from the median run time. */
  readonly mbPerSecond: number;
  readonly medianMs: number;
  readonly samples: number;
}

export interface ThroughputOptions {
  /** Minimum number of measured runs. */
  readonly iterations: number;
  /** Time budget in ms: runs continue until both it and `iterations` are reached. */
  readonly timeMs: number;
  readonly warmupIterations: number;
}

/**
 * Single-threaded throughput of `fn` over an input of `chars` characters, measured with tinybench. The median
 * is used rather than the mean: these machines are shared, and one descheduled run should not move the
 * figure.
 */
export async function throughput(
  name: string,
  chars: number,
  fn: () => unknown,
  opts: ThroughputOptions,
): Promise<Throughput> {
  const bench = new Bench({
    name,
    iterations: opts.iterations,
    time: opts.timeMs,
    warmup: opts.warmupIterations > 0,
    warmupIterations: opts.warmupIterations,
    warmupTime: 0,
    throws: true,
  });
  bench.add(name, fn);
  await bench.run();
  const result = bench.getTask(name)?.result;
  if (result === undefined || result.state !== 'completed')
    throw new Error(`${name}: benchmark did not complete`);
  const medianMs = result.latency.p50;
  return { mbPerSecond: chars / 1e6 / (medianMs / 1e3), medianMs, samples: result.latency.df + 1 };
}

/** Wall time of one call in ms (for inputs too slow or too adversarial to repeat). */
export function timeOnce(fn: () => unknown): number {
  const start = performance.now();
  fn();
  return performance.now() - start;
}

export const fmt = {
  mbps: (v: number) => `${v >= 100 ? v.toFixed(0) : v >= 1 ? v.toFixed(1) : v.toFixed(3)} MB/s`,
  ms: (v: number) => `${v >= 100 ? v.toFixed(0) : v.toFixed(1)} ms`,
  ratio: (v: number) => `${v >= 100 ? v.toFixed(0) : v.toFixed(1)}×`,
  mb: (chars: number) => `${(chars / 1e6).toFixed(chars >= 1e6 ? 1 : 3)} MB`,
  kb: (chars: number) => `${Math.round(chars / 1024)} KB`,
  pct: (v: number) => v.toFixed(4),
};
