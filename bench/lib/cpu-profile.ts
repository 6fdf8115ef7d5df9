// Where a thread's time goes: a sampling CPU profile of the calling thread (V8's profiler through
// node:inspector), with self time grouped into categories chosen by the caller.
import type { Profiler } from 'node:inspector';
import { Session } from 'node:inspector/promises';

/** Profiles the calling thread while `fn` runs; `intervalUs` is the sampling interval. */
export async function profileThread<T>(
  fn: () => Promise<T>,
  intervalUs = 100,
): Promise<{ result: T; profile: Profiler.Profile }> {
  const session = new Session();
  session.connect();
  try {
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: intervalUs });
    await session.post('Profiler.start');
    let result: T;
    let stopped: Profiler.StopReturnType;
    try {
      result = await fn();
    } finally {
      // Stop even when fn failed, so the profiler never outlives the call.
      stopped = await session.post('Profiler.stop');
    }
    await session.post('Profiler.disable');
    return { result, profile: stopped.profile };
  } finally {
    session.disconnect();
  }
}

/**
 * Names a profile node's category from its script URL and function name. `null` charges the node to its
 * caller's category (native builtins such as JSON.parse have no URL); `{ orCaller }` does too when a caller
 * has a category of its own, and otherwise uses `orCaller` (runtime internals: the socket write of a database
 * client belongs to the client, the HTTP parser that starts a request to the runtime).
 */
export type Categorise = (url: string, functionName: string) => string | null | { readonly orCaller: string };

interface Charged {
  readonly category: string;
  /** Named by categorise() as a string, not a fallback. */
  readonly own: boolean;
}

const PSEUDO: Record<string, string> = {
  '(idle)': 'idle',
  '(garbage collector)': 'gc',
  '(program)': 'program',
  '(root)': 'other',
};

/** Self time (µs) per category. V8's pseudo-nodes become `idle`, `gc`, `program` and `other`. */
export function selfTimeByCategory(profile: Profiler.Profile, categorise: Categorise): Map<string, number> {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const memo = new Map<number, Charged>();
  const chargedTo = (id: number): Charged => {
    const known = memo.get(id);
    if (known !== undefined) return known;
    const node = byId.get(id);
    const up = parent.get(id);
    const caller = (): Charged | undefined => (up === undefined ? undefined : chargedTo(up));
    let charged: Charged;
    if (node === undefined) charged = { category: 'other', own: false };
    else {
      const { url, functionName } = node.callFrame;
      const pseudo = PSEUDO[functionName];
      const own = pseudo === undefined ? categorise(url, functionName) : pseudo;
      if (typeof own === 'string') charged = { category: own, own: pseudo === undefined };
      else if (own === null) charged = caller() ?? { category: 'other', own: false };
      else {
        const c = caller();
        charged = c?.own ? c : { category: own.orCaller, own: false };
      }
    }
    memo.set(id, charged);
    return charged;
  };
  const totals = new Map<string, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) {
    // A sample's time is the gap to the next sample (the last one gets the mean gap).
    const dt = deltas[i + 1] ?? (profile.endTime - profile.startTime) / Math.max(samples.length, 1);
    const { category } = chargedTo(samples[i] as number);
    totals.set(category, (totals.get(category) ?? 0) + dt);
  }
  return totals;
}
