// In-process closed-loop load: N loops each start the next call when their last one has ended, timing every
// call. For code called directly (database functions, caches), where the HTTP load worker does not apply.
import { concatSamples, type LatencySummary, summarise } from './latency.js';

export interface LoopResult {
  /** Per-call latency in ms, in the order the calls were started (failed calls included). */
  readonly latencies: Float64Array;
  /** Wall time from the first call's start to the last call's end. */
  readonly wallMs: number;
  /** Failed calls by error code (`err.code` when it is a string, else the message). */
  readonly errors: ReadonlyMap<string, number>;
}

const errorKey = (err: unknown): string => {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return code;
  return err instanceof Error ? err.message : String(err);
};

/** `calls` calls of `fn` from `concurrency` loops; `fn` gets the loop's index (0 to concurrency - 1). */
export async function closedLoop(
  calls: number,
  concurrency: number,
  fn: (loop: number) => Promise<unknown>,
): Promise<LoopResult> {
  const latencies = new Float64Array(calls);
  const errors = new Map<string, number>();
  let next = 0;
  const loop = async (l: number) => {
    while (next < calls) {
      const i = next++;
      const t0 = performance.now();
      try {
        await fn(l);
      } catch (err) {
        const k = errorKey(err);
        errors.set(k, (errors.get(k) ?? 0) + 1);
      }
      latencies[i] = performance.now() - t0;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, (_, l) => loop(l)));
  return { latencies, wallMs: performance.now() - started, errors };
}

/** One summary of several rounds of the same point: their latencies over their summed wall time. */
export const pooledLoops = (rs: readonly LoopResult[]): LatencySummary =>
  summarise(
    concatSamples(rs.map((r) => r.latencies)),
    rs.reduce((t, r) => t + r.wallMs, 0),
  );
