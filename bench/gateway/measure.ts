// The measured rounds: direct and through-Rampart loads interleaved, with the stub's view checked, and the
// per-engine run that ties the rounds, the profile and the piece timings together.
import { CheckedLoader, pooled, postTarget, type Target } from '../lib/checked-load.js';
import type { LoadResult } from '../lib/http-load.js';
import { type LatencySummary, summarise } from '../lib/latency.js';
import type { ProfileResult } from '../lib/rampart-profile.js';
import { type Pieces, profileAndPieces } from './profile.js';
import {
  CHAT_BODY,
  CONCURRENCIES,
  type Instance,
  MESSAGES,
  PATH,
  type Plan,
  REDACTED_MESSAGES,
  TARGET_CONCURRENCY,
} from './setup.js';

export const target = (origin: string, token: string): Target =>
  postTarget(origin, PATH, { authorization: `Bearer ${token}` }, CHAT_BODY);

/** One figure pair: the same load direct and through something, interleaved in rounds. */
export interface Pair {
  readonly concurrency: number;
  readonly direct: LatencySummary;
  readonly via: LatencySummary;
  /** p50 through minus p50 direct, per round. */
  readonly roundAddedP50: readonly number[];
  /** Time spent after the `via` rounds waiting for their deferred work (Rampart: usage audit rows). */
  readonly settleMs: number;
}

/** Checked loads (see CheckedLoader), and figure pairs of them. */
export class Loader extends CheckedLoader {
  /** `settle` runs after each `via` round, outside the measured time. */
  async pair(
    what: string,
    plan: Plan,
    c: number,
    direct: Target,
    via: Target,
    settle?: () => Promise<number>,
  ): Promise<Pair> {
    let settleMs = 0;
    const d: LoadResult[] = [];
    const v: LoadResult[] = [];
    const perRound = Math.ceil(plan.requests / plan.rounds);
    for (let round = 0; round < plan.rounds; round++) {
      const warm = round === 0 ? plan.warmup : 0;
      const runD = async () => d.push(await this.run(`direct c=${c}`, direct(c, warm, perRound)));
      const runV = async () => {
        v.push(await this.run(`${what} c=${c}`, via(c, warm, perRound)));
        settleMs += (await settle?.()) ?? 0;
      };
      // Alternate which goes first, so drift on the shared machine falls on both sides alike.
      if (round % 2 === 0) {
        await runD();
        await runV();
      } else {
        await runV();
        await runD();
      }
    }
    return {
      concurrency: c,
      direct: pooled(d),
      via: pooled(v),
      settleMs,
      roundAddedP50: d.map(
        (x, i) => summarise((v[i] as LoadResult).latencies, 1).p50 - summarise(x.latencies, 1).p50,
      ),
    };
  }
}

export interface EngineResult {
  readonly label: string;
  readonly on: readonly Pair[];
  readonly off: Pair;
  /** Through the key under gateway limits (docs/GATEWAY.md "Limits and budgets"). */
  readonly limited: Pair;
  readonly profile: ProfileResult;
  /** Median µs of pieces of the request path, timed alone. */
  readonly pieces: Pieces;
  /** Usage audit rows not yet written when a Rampart round ended (most seen), and the longest wait for them. */
  readonly auditBacklog: { readonly rows: number; readonly drainMs: number };
}

export async function measureEngine(
  loader: Loader,
  inst: Instance,
  direct: Target,
  plan: Plan,
  failures: string[],
) {
  const tag = inst.engine;
  // Each completion appends a usage audit row after answering, off the response path. Rounds wait for those
  // rows to be written, so one round's backlog does not slow the next, and record how large it got.
  let sent = 0;
  const counted =
    (t: Target): Target =>
    (c, warm, n) => {
      sent += warm + n;
      return t(c, warm, n);
    };
  const on = counted(target(inst.origin, inst.keys.on));
  const off = counted(target(inst.origin, inst.keys.off));
  const limited = counted(target(inst.origin, inst.keys.limited));
  const backlog = { rows: 0, drainMs: 0 };
  const written = async () => {
    const { rows } = await inst.rampart.services.db.org(inst.orgId, (q) =>
      q.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM audit_log WHERE org_id = $1 AND action = 'llm.completion'",
        [inst.orgId],
      ),
    );
    return rows[0]?.n ?? 0;
  };
  const settle = async () => {
    const started = performance.now();
    let n = await written();
    backlog.rows = Math.max(backlog.rows, sent - n);
    while (n < sent) {
      if (performance.now() - started > 60_000) {
        failures.push(`${tag}: ${sent - n} usage audit rows still missing 60 s after the load stopped`);
        break;
      }
      await new Promise((r) => setTimeout(r, 10));
      n = await written();
    }
    const ms = performance.now() - started;
    backlog.drainMs = Math.max(backlog.drainMs, ms);
    return ms;
  };

  // What the upstream receives through each key.
  const lastMessages = async () =>
    JSON.stringify((JSON.parse(await loader.lastBody()) as { messages?: unknown }).messages);
  await loader.run(`${tag} check`, on(1, 0, 1));
  if ((await lastMessages()) !== REDACTED_MESSAGES)
    failures.push(`${tag}: the upstream did not receive the redacted messages through the default key`);
  await loader.run(`${tag} check`, off(1, 0, 1));
  if ((await lastMessages()) !== JSON.stringify(MESSAGES))
    failures.push(`${tag}: the upstream did not receive raw messages through the redaction-off key`);

  const pairs: Pair[] = [];
  for (const c of CONCURRENCIES) pairs.push(await loader.pair(`${tag} Rampart`, plan, c, direct, on, settle));
  const offPair = await loader.pair(
    `${tag} Rampart, redaction off`,
    plan,
    TARGET_CONCURRENCY,
    direct,
    off,
    settle,
  );

  const limitedPair = await loader.pair(
    `${tag} Rampart, limits on`,
    plan,
    TARGET_CONCURRENCY,
    direct,
    limited,
    settle,
  );

  const { profile, pieces } = await profileAndPieces(loader, inst, on, settle, plan, tag);

  return {
    label: inst.label,
    on: pairs,
    off: offPair,
    limited: limitedPair,
    profile,
    pieces,
    auditBacklog: backlog,
  } satisfies EngineResult;
}
