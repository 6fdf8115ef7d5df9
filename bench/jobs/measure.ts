// The measurements of the jobs bench: drain rounds (every job due at once, runner instances ticking until no
// work is left), HTTP baselines, and the production poll loop; each round checked for exactly-once delivery.
import { cpus } from 'node:os';
import type { Instance } from './instance.js';
import type { DrainResult, HttpResult, RunRows } from './protocol.js';
import type { Stub } from './stub.js';

/** A target the outbound guard refuses before connecting (a private address not on the allow-list). */
export const REFUSED_URL = 'http://10.255.255.1/hit';
export const JOB_BODY = JSON.stringify({ event: 'nightly-sync', source: 'rampart-bench' });

export interface Plan {
  readonly orgs: number;
  readonly jobsPerOrg: number;
  /** Measured rounds per point (1 and 2 instances interleaved); the median is reported. */
  readonly reps: number;
  readonly httpRequests: number;
  readonly loopWindowMs: number;
}

export const planFor = (full: boolean): Plan =>
  full
    ? { orgs: 10, jobsPerOrg: 500, reps: 3, httpRequests: 5000, loopWindowMs: 10_000 }
    : { orgs: 10, jobsPerOrg: 50, reps: 1, httpRequests: 500, loopWindowMs: 2000 };

export type Target = 'stub' | 'refused';

export interface Round {
  readonly target: Target;
  readonly instances: number;
  readonly due: number;
  readonly wallMs: number;
  readonly perInstance: readonly DrainResult[];
  readonly durationsMs: readonly number[];
  /** TCP connections the stub accepted during the round. */
  readonly connections: number;
  /** Share of the machine's CPU time (all cores, every process) that was busy during the round. */
  readonly cpuBusy: number;
}

/** Busy and total CPU time of the whole machine so far (ms, summed over cores). */
function cpuTimes(): { busy: number; total: number } {
  let busy = 0;
  let total = 0;
  for (const c of cpus()) {
    const t = c.times.user + c.times.nice + c.times.sys + c.times.irq;
    busy += t;
    total += t + c.times.idle;
  }
  return { busy, total };
}

/** Measures the machine's CPU busy share over `fn`. */
async function withCpu<T>(fn: () => Promise<T>): Promise<{ result: T; cpuBusy: number }> {
  const a = cpuTimes();
  const result = await fn();
  const b = cpuTimes();
  return { result, cpuBusy: b.total > a.total ? (b.busy - a.busy) / (b.total - a.total) : Number.NaN };
}

export const rate = (n: number, ms: number) => (n / ms) * 1000;
export const roundRate = (r: Round) => rate(r.due, r.wallMs);

/** Virtual time: every round makes all jobs due at a fresh slot (one minute apart) and ticks 30 s after it. */
export class Clock {
  #slot = Date.parse('2025-01-01T00:00:00Z');
  next(): { slot: Date; now: Date } {
    const slot = new Date(this.#slot);
    this.#slot += 60_000;
    return { slot, now: new Date(slot.getTime() + 30_000) };
  }
}

/** Checks a round's runs against what the stub received; returns what is wrong (nothing when all is well). */
export function checkRuns(
  what: string,
  rows: RunRows,
  stub: Stub,
  expect: { due: number | null; target: Target; executed?: number },
): string[] {
  const problems: string[] = [];
  const n = rows.ids.length;
  if (expect.due !== null && n !== expect.due)
    problems.push(`${what}: ${n} job_runs rows for ${expect.due} due jobs`);
  if (expect.executed !== undefined && expect.executed !== n)
    problems.push(`${what}: the instances reported ${expect.executed} runs, job_runs has ${n}`);
  const want = expect.target === 'stub' ? 'succeeded' : 'failed';
  const wrong = Object.entries(rows.statuses).filter(([s]) => s !== want);
  if (wrong.length > 0)
    problems.push(`${what}: runs not ${want}: ${JSON.stringify(Object.fromEntries(wrong))}`);
  if (expect.target === 'refused') {
    const notBlocked = Object.entries(rows.errors).filter(([e]) => e !== 'blocked');
    if (notBlocked.length > 0)
      problems.push(`${what}: errors other than the guard's refusal: ${JSON.stringify(notBlocked)}`);
  }
  const hits = [...stub.hits].filter(([id]) => !id.startsWith('baseline-'));
  const expectedHits = expect.target === 'stub' ? n : 0;
  if (hits.length !== expectedHits)
    problems.push(`${what}: the stub saw ${hits.length} run ids, expected ${expectedHits}`);
  if (expect.target === 'stub') {
    const missing = rows.ids.filter((id) => stub.hits.get(id) !== 1);
    if (missing.length > 0)
      problems.push(
        `${what}: ${missing.length} runs not received exactly once by the stub (e.g. ${missing[0]}: ` +
          `${stub.hits.get(missing[0] ?? '') ?? 0} times)`,
      );
  }
  if (stub.stray > 0) problems.push(`${what}: ${stub.stray} stray requests at the stub`);
  return problems;
}

export interface HttpBaseline extends HttpResult {
  readonly connections: number;
  readonly cpuBusy: number;
}

export interface LoopResult {
  readonly instances: number;
  /** Orgs whose jobs were due (the others parked). */
  readonly orgs: number;
  readonly runs: number;
  /** Every due job ran before the window was over (the time is then the time to drain the backlog). */
  readonly drained: boolean;
  readonly wallMs: number;
}

export class Runner {
  constructor(
    private readonly stub: Stub,
    private readonly clock: Clock,
    private readonly plan: Plan,
    private readonly failures: string[],
    private readonly label: string,
  ) {}

  /**
   * The jobs of `orgs` orgs (all by default) due at a fresh slot; the instances drain them together.
   * @param profile CPU-profile the first instance
   */
  async round(
    insts: readonly Instance[],
    target: Target,
    concurrency: number,
    opts: { profile?: boolean; orgs?: number } = {},
  ): Promise<Round> {
    const [first] = insts;
    if (first === undefined) throw new Error('no instance');
    const orgs = opts.orgs ?? this.plan.orgs;
    const due = orgs * this.plan.jobsPerOrg;
    const { slot, now } = this.clock.next();
    await first.setDue(slot, orgs);
    this.stub.reset();
    const t0 = performance.now();
    const { result: perInstance, cpuBusy } = await withCpu(() =>
      Promise.all(insts.map((i, k) => i.drain(now, opts.profile === true && k === 0))),
    );
    const wallMs = performance.now() - t0;
    const connections = this.stub.connections;
    const rows = await first.runs({ slot });
    const what = `${this.label}, ${insts.length} instance(s), concurrency ${concurrency}, target ${target}`;
    this.failures.push(
      ...checkRuns(what, rows, this.stub, {
        due,
        target,
        executed: perInstance.reduce((s, r) => s + r.runs, 0),
      }),
    );
    for (const r of perInstance)
      for (const [msg, n] of Object.entries(r.errors))
        this.failures.push(`${what}: a claim pass failed ${n} time(s): ${msg.split('\n')[0]}`);
    return {
      target,
      instances: insts.length,
      due,
      wallMs,
      perInstance,
      durationsMs: rows.durationsMs,
      connections,
      cpuBusy,
    };
  }

  async http(
    inst: Instance,
    mode: 'plain' | 'guarded',
    url: string,
    requests: number,
    concurrency: number,
  ): Promise<HttpBaseline> {
    this.stub.reset();
    const { result: r, cpuBusy } = await withCpu(() => inst.http(mode, url, JOB_BODY, requests, concurrency));
    if (r.failed > 0)
      this.failures.push(`${this.label}: ${r.failed} of ${requests} ${mode} baseline calls failed`);
    return { ...r, connections: this.stub.connections, cpuBusy };
  }

  /**
   * The production poll loop on the wall clock: the jobs of `orgs` orgs due, `start()` on every instance, and
   * `stop()` (which waits for the runs in flight) once the stub has seen every due run or the window is over.
   */
  async loop(insts: readonly Instance[], orgs: number, concurrency: number): Promise<LoopResult> {
    const [first] = insts;
    if (first === undefined) throw new Error('no instance');
    const { slot } = this.clock.next();
    await first.setDue(slot, orgs);
    this.stub.reset();
    const since = new Date();
    const t0 = performance.now();
    await Promise.all(insts.map((i) => i.start()));
    const due = orgs * this.plan.jobsPerOrg;
    while (this.stub.hits.size < due && performance.now() - t0 < this.plan.loopWindowMs)
      await new Promise((r) => setTimeout(r, 5));
    await Promise.all(insts.map((i) => i.stop()));
    const wallMs = performance.now() - t0;
    const rows = await first.runs({ since });
    this.failures.push(
      ...checkRuns(
        `${this.label}, poll loop, ${insts.length} instance(s), ${orgs} org(s), concurrency ${concurrency}`,
        rows,
        this.stub,
        { due: null, target: 'stub' },
      ),
    );
    return { instances: insts.length, orgs, runs: rows.ids.length, drained: rows.ids.length >= due, wallMs };
  }
}
