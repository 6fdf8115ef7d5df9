// Interleaved rate measurement and the number formats shared by the core bench's modules.
import { type ThroughputOptions, throughput } from '../lib/measure.js';

export interface Subject {
  readonly name: string;
  /** Operations done by one call of `fn` (calls are batched when one operation is too short to time). */
  readonly ops: number;
  readonly fn: () => unknown;
  /** Runs before each of the subject's measurements, outside the measured time (cache priming, resets). */
  readonly prepare?: () => Promise<void>;
}

/**
 * Operations per second of each subject: `rounds` rounds, each timing every subject once with tinybench (the
 * median call time), rotating which subject goes first so drift on a shared machine falls on all alike. The
 * figure is the median of the rounds' rates.
 */
export async function interleavedRates(
  subjects: readonly Subject[],
  rounds: number,
  timing: ThroughputOptions,
): Promise<Map<string, number>> {
  const rates = new Map<string, number[]>(subjects.map((s) => [s.name, []]));
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < subjects.length; k++) {
      const s = subjects[(round + k) % subjects.length];
      if (s === undefined) continue;
      await s.prepare?.();
      const { medianMs } = await throughput(s.name, 1, s.fn, timing);
      rates.get(s.name)?.push(s.ops / (medianMs / 1000));
    }
  }
  return new Map([...rates].map(([name, rs]) => [name, median(rs)]));
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  if (sorted.length === 0) return Number.NaN;
  return sorted.length % 2 === 1
    ? (sorted[mid] ?? Number.NaN)
    : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/** A rate from a map filled by {@link interleavedRates}. */
export function rateOf(rates: ReadonlyMap<string, number>, name: string): number {
  const r = rates.get(name);
  if (r === undefined) throw new Error(`no rate measured for ${name}`);
  return r;
}

export const fmtCore = {
  perSecond: (n: number, unit = '/s') => `${Math.round(n).toLocaleString('en-US')}${unit}`,
  /** A ratio of rates: two decimals below 10. */
  ratio: (v: number) => `${v >= 10 ? v.toFixed(0) : v.toFixed(2)}×`,
  us: (ms: number) => `${(ms * 1000).toFixed(ms >= 0.1 ? 0 : 1)} µs`,
  count: (n: number) => n.toLocaleString('en-US'),
};
