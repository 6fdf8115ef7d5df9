// The report for the jobs bench: the markdown tables, notes and intro of its section.
import { percentile } from '../lib/latency.js';
import { standaloneCommand } from '../lib/standalone.js';
import { type BenchOptions, type BenchSection, type Figure, figureTable, type Table } from '../lib/types.js';
import {
  type HttpBaseline,
  JOB_BODY,
  type LoopResult,
  type Plan,
  planFor,
  REFUSED_URL,
  type Round,
  rate,
  roundRate,
} from './measure.js';

export interface ConfigResult {
  readonly concurrency: number;
  /** Measured rounds, 1 instance and 2 instances (2: PostgreSQL only). */
  readonly one: readonly Round[];
  readonly two: readonly Round[];
  readonly refused1: Round;
  readonly refused2: Round | undefined;
  readonly plain: HttpBaseline;
  readonly guarded: HttpBaseline;
  readonly profiled: Round | undefined;
}

export interface EngineResult {
  readonly label: string;
  readonly instances: number;
  readonly configs: readonly ConfigResult[];
  /** The production poll loop at the default concurrency. */
  readonly loops: readonly LoopResult[];
}

const POLL_MS = 1000;
const perS = (v: number) => `${Math.round(v).toLocaleString('en-US')}/s`;
const ms = (v: number) => `${v >= 100 ? v.toFixed(0) : v.toFixed(1)} ms`;
const x = (v: number) => `${v.toFixed(2)}×`;
const pct = (v: number) => `${(v * 100).toFixed(0)}%`;
const count = (v: number) => v.toLocaleString('en-US');

/** The round with the median rate. */
function median(rounds: readonly Round[]): Round | undefined {
  const sorted = [...rounds].sort((p, q) => roundRate(p) - roundRate(q));
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

function durations(r: Round): string {
  const d = Float64Array.from(r.durationsMs).sort();
  if (d.length === 0) return '–';
  return `${percentile(d, 50).toFixed(0)} / ${percentile(d, 99).toFixed(0)} ms`;
}

function roundRow(name: string, r: Round): string[] {
  const passes = r.perInstance.reduce((s, i) => s + i.ticks, 0);
  const empty = r.perInstance.reduce((s, i) => s + i.emptyTicks, 0);
  return [
    name,
    count(r.due),
    ms(r.wallMs),
    perS(roundRate(r)),
    r.perInstance.map((i) => count(i.runs)).join(' + '),
    `${count(passes)} (${count(empty)} empty)`,
    durations(r),
    count(r.connections),
    pct(r.cpuBusy),
  ];
}

function httpRow(name: string, h: HttpBaseline): string[] {
  return [
    name,
    count(h.requests),
    ms(h.wallMs),
    perS(rate(h.requests, h.wallMs)),
    '–',
    '–',
    '–',
    count(h.connections),
    pct(h.cpuBusy),
  ];
}

function figures(e: EngineResult): Figure[] {
  const out: Figure[] = [];
  for (const c of e.configs) {
    const one = median(c.one);
    if (one === undefined) continue;
    const r1 = roundRate(one);
    const plain = rate(c.plain.requests, c.plain.wallMs);
    out.push({
      figure: `1 instance, concurrency ${c.concurrency}`,
      ours: perS(r1),
      peer: `plain undici fetch loop, ${c.concurrency} in flight, same thread position: ${perS(plain)}`,
      ratio: `${pct(r1 / plain)} of plain HTTP`,
      target: '–',
    });
    const two = median(c.two);
    if (two !== undefined) {
      out.push({
        figure: `2 instances, concurrency ${c.concurrency} each`,
        ours: perS(roundRate(two)),
        peer: `1 instance: ${perS(r1)}`,
        ratio: `${x(roundRate(two) / r1)} (scaling)`,
        target: '–',
      });
    }
    out.push({
      figure: `1 instance, concurrency ${c.concurrency}, HTTP call refused by the outbound guard (no request)`,
      ours: perS(roundRate(c.refused1)),
      peer: `end to end: ${perS(r1)}`,
      ratio: x(roundRate(c.refused1) / r1),
      target: '–',
    });
  }
  const first = e.configs[0];
  const tick = first ? median(first.one) : undefined;
  const loop1 = e.loops.find((l) => l.instances === 1 && l.orgs > 1);
  const loop2 = e.loops.find((l) => l.instances === 2);
  if (first && tick && loop1) {
    const r1 = rate(loop1.runs, loop1.wallMs);
    out.push({
      figure: `Production poll loop (\`start()\`, poll ${POLL_MS / 1000} s), 1 instance, concurrency ${first.concurrency}`,
      ours: perS(r1),
      peer: `\`tick()\` back to back: ${perS(roundRate(tick))}`,
      ratio: x(r1 / roundRate(tick)),
      target: '–',
    });
    if (loop2) {
      const r2 = rate(loop2.runs, loop2.wallMs);
      out.push({
        figure: `Production poll loop, 2 instances, concurrency ${first.concurrency} each`,
        ours: perS(r2),
        peer: `poll loop, 1 instance: ${perS(r1)}`,
        ratio: `${x(r2 / r1)} (scaling)`,
        target: '–',
      });
    }
  }
  return out;
}

function detailTable(e: EngineResult): Table {
  const rows: string[][] = [];
  for (const c of e.configs) {
    const k = c.concurrency;
    const one = median(c.one);
    const two = median(c.two);
    if (one) rows.push(roundRow(`1 instance, concurrency ${k}`, one));
    if (two) rows.push(roundRow(`2 instances, concurrency ${k}`, two));
    rows.push(roundRow(`1 instance, concurrency ${k}, target refused`, c.refused1));
    if (c.refused2) rows.push(roundRow(`2 instances, concurrency ${k}, target refused`, c.refused2));
    rows.push(httpRow(`Plain undici fetch loop, ${k} in flight`, c.plain));
    rows.push(httpRow(`The runner's guarded fetch alone, ${k} in flight`, c.guarded));
  }
  return {
    caption: `${e.label}: every round in detail (median round where repeated)`,
    header: [
      'Round',
      'Due runs / calls',
      'Wall time',
      'Rate',
      'Runs per instance',
      'Claim passes (empty)',
      'Run duration p50 / p99',
      'New stub connections',
      'Machine CPU busy',
    ],
    rows,
  };
}

function loopTable(e: EngineResult, plan: Plan): Table {
  const c = e.configs[0];
  const one = c ? median(c.one) : undefined;
  const tick = one ? roundRate(one) : Number.NaN;
  const name = (l: LoopResult) =>
    `${l.instances === 1 ? '1 instance' : `${l.instances} instances`}, due jobs ` +
    (l.orgs === 1 ? `all in 1 org (${count(plan.jobsPerOrg)})` : `spread over ${l.orgs} orgs`);
  return {
    caption:
      `${e.label}: the production poll loop (\`start()\`, default poll interval ${POLL_MS / 1000} s, ` +
      `concurrency ${c?.concurrency ?? '–'}) with a backlog of due jobs, until the backlog is drained or for ` +
      `${plan.loopWindowMs / 1000} s at most, against 1 instance calling \`tick()\` back to back`,
    header: ['Poll loop', 'Runs', 'Time', 'Runs/s', '`tick()` back to back, 1 instance', 'Ratio'],
    rows: e.loops.map((l) => {
      const r = rate(l.runs, l.wallMs);
      return [
        name(l),
        count(l.runs),
        `${ms(l.wallMs)}${l.drained ? ' (drained)' : ' (window over)'}`,
        perS(r),
        perS(tick),
        x(r / tick),
      ];
    }),
  };
}

function profileTable(e: EngineResult): Table | undefined {
  const c = e.configs.find((k) => k.profiled?.perInstance[0]?.profile !== undefined);
  const r = c?.profiled;
  const p = r?.perInstance[0]?.profile;
  if (c === undefined || r === undefined || p === undefined) return undefined;
  const total = p.reduce((s, [, us]) => s + us, 0);
  const busy = total - (p.find(([k]) => k === 'idle')?.[1] ?? 0);
  const sorted = [...p].filter(([k]) => k !== 'idle').sort((a, b) => b[1] - a[1]);
  const shown = sorted.filter(([, us]) => us / busy >= 0.01);
  const rest = sorted.filter(([, us]) => us / busy < 0.01);
  const rows = shown.map(([k, us]) => [k, pct(us / busy), `${(us / r.due).toFixed(0)} µs`]);
  if (rest.length > 0) {
    const us = rest.reduce((s, [, v]) => s + v, 0);
    rows.push([`${rest.length} more, under 1% each`, pct(us / busy), `${(us / r.due).toFixed(0)} µs`]);
  }
  return {
    caption:
      `${e.label}: where a runner instance's thread spends its time, 1 instance at concurrency ${c.concurrency} ` +
      `(CPU profile of one more round of ${count(r.due)} runs, ${perS(roundRate(r))} under the profiler; the ` +
      `thread was busy ${pct(busy / total)} of the time, idle otherwise)`,
    header: ['Self time in', 'Share of busy time', 'Per run'],
    rows,
  };
}

function loopNotes(e: EngineResult): string[] {
  const first = e.configs[0];
  const tick = first ? median(first.one) : undefined;
  if (!first || !tick) return [];
  const slow = e.loops.filter((l) => rate(l.runs, l.wallMs) < 0.5 * roundRate(tick));
  if (slow.length === 0) return [];
  const perPoll = (l: LoopResult) => (l.runs / l.wallMs) * POLL_MS;
  return [
    'The poll loop fell far behind `tick()` back to back here: ' +
      slow
        .map(
          (l) =>
            `${l.instances === 1 ? '1 instance' : `${l.instances} instances`} with the backlog ` +
            `${l.orgs === 1 ? 'in 1 org' : `over ${l.orgs} orgs`} ` +
            `dispatched about ${perPoll(l).toFixed(0)} runs per poll interval`,
        )
        .join('; ') +
      ` (concurrency ${first.concurrency}). In the runner as measured, a pass that claims fewer runs than it has ` +
      'free slots, or finds no free slot because the runs it just started are still in flight, waits the full ' +
      'poll interval, and a finishing run does not wake it. With the backlog in one org, a pass claims its runs ' +
      'in one transaction and starts them only after it commits, so every pass finds its slots full and waits. ' +
      'With 2 instances, both list the same first due jobs (the work query orders by `next_run_at` and does ' +
      'not skip locked rows), so their passes come up short on each other’s locks and both wait. Only a 1-instance ' +
      'backlog spread over several orgs keeps the loop going (runs started for one org finish while the next ' +
      'org is claimed).',
  ];
}

function profileNotes(e: EngineResult): string[] {
  const p = e.configs.find((c) => c.profiled?.perInstance[0]?.profile)?.profiled?.perInstance[0]?.profile;
  if (p === undefined) return [];
  return [
    'The profile charges native builtins and Node.js internals to the package that called them; the profiler ' +
      'slows the thread, so its per-run figures read high. `croner (next fire time)` is computing each claimed ' +
      'job’s next `next_run_at` (`nextRunAfter`, which builds a `Cron` from the expression on every call).',
  ];
}

export function report(opts: BenchOptions, plan: Plan, e: EngineResult, failures: string[]): BenchSection {
  const rounds = e.configs.flatMap((c) => [
    ...c.one,
    ...c.two,
    c.refused1,
    ...(c.refused2 ? [c.refused2] : []),
  ]);
  const checked = rounds.reduce((s, r) => s + r.due, 0);
  const profile = profileTable(e);
  const tables: Table[] = [
    figureTable(
      `${e.label}: due runs dispatched per second, end to end (claim, POST to the stub, result recorded)`,
      [
        ...figures(e),
        {
          figure:
            'Every due run executed exactly once (stub hits by `x-rampart-run-id` against `job_runs` rows)',
          ours: `${count(checked)} runs in ${rounds.length} rounds`,
          peer: '–',
          ratio: '–',
          target: `every run, once ${failures.length === 0 ? '✓' : '✗'}`,
        },
      ],
    ),
    detailTable(e),
    loopTable(e, plan),
    ...(profile ? [profile] : []),
  ];
  const quick = planFor(false);
  const full = planFor(true);
  const notes = [
    'Round: every job is made due at one slot of virtual time, then each instance calls `tick(now)` (one claim ' +
      'pass of up to `concurrency` runs, which it awaits) until a pass claims nothing and the runner’s work query ' +
      '(`rampart_job_work`) lists nothing more. A pass that claims nothing while work is still listed is “empty”: ' +
      'the other instance holds those jobs locked (`FOR UPDATE SKIP LOCKED`) or has just claimed them. Wall time ' +
      'runs from the start of the round until every instance is done and every run is recorded.',
    'Instances: each runner instance is a worker thread with its own Rampart (event loop, database pool of 10, ' +
      'outbound agent), as separate nodes would have; they share only the database. The stub runs on the main ' +
      `thread. Every job is \`POST\` with a ${JOB_BODY.length}-byte JSON body, schedule \`* * * * *\`, default ` +
      `timeout and retries; the stub answers 200 with a small JSON body. The jobs are spread over ${plan.orgs} orgs ` +
      '(each org’s jobs are claimed in that org’s own transaction, under row-level security): one created ' +
      'through `POST /api/orgs/:orgId/jobs`, the rest copied from it in SQL.',
    `Target refused: the jobs point at \`${REFUSED_URL}\`, which the outbound guard refuses before connecting, so ` +
      'the runner does all of its database work (claim, record the failure, failure streak) and no HTTP request: ' +
      'the ceiling the database side allows. The plain fetch loop is undici `fetch` with keep-alive from the same ' +
      'kind of worker thread, no database: the ceiling the HTTP side allows. “The runner’s guarded fetch alone” ' +
      'is `guardedFetch` through the instance’s guarded agent with the runner’s options.',
    'Run duration is the `duration_ms` the runner records for each run (the HTTP exchange, from just before the ' +
      'request to the outcome). Machine CPU busy is the share of all cores’ time that was busy during the round, ' +
      'every process included (PostgreSQL, the stub, the instances).',
    'Machine: the runner instances, the stub and PostgreSQL all share this machine’s CPU cores; two instances ' +
      'compete with each other and with the database for them, so the 2-instance `tick()` figures are a floor ' +
      'for instances on separate hosts.',
    ...loopNotes(e),
    ...profileNotes(e),
    `Quick mode: ${count(quick.orgs * quick.jobsPerOrg)} due jobs per round (${quick.orgs} orgs × ` +
      `${quick.jobsPerOrg}), ${quick.reps} measured round per point, a ${quick.loopWindowMs / 1000} s poll-loop ` +
      `window; \`--full\`: ${count(full.orgs * full.jobsPerOrg)} (${full.orgs} × ${full.jobsPerOrg}), the median ` +
      `of ${full.reps} rounds (1 and 2 instances interleaved), a ${full.loopWindowMs / 1000} s window. Every ` +
      'configuration starts with an unreported warm-up round. Set `TEST_DATABASE_URL` (a PostgreSQL server where ' +
      'the user may create databases) for PostgreSQL and 2 instances; without it the bench runs on PGlite with 1 ' +
      'instance (PGlite is in-process and cannot be shared). The bench creates a throwaway database and drops it.',
  ];
  return {
    id: 'jobs',
    title: 'Scheduled-job runner throughput',
    headline: figures(e)
      .filter((f) => /^1 instance, concurrency \d+$/.test(f.figure))
      .map((f) => ({ ...f, figure: `Job runner dispatch, due runs/s end to end (${e.label}), ${f.figure}` })),
    command: standaloneCommand('bench/jobs/index.ts', opts, e.instances > 1),
    intro: [
      'How many due runs per second the scheduled-job runner dispatches end to end: claim the due job ' +
        '(advance `next_run_at`, insert the `job_runs` row), send its HTTP request to a local stub on 127.0.0.1, ' +
        `and record the outcome. Database: ${e.label}` +
        (e.instances > 1
          ? ', with 1 runner instance and with 2 instances on the same database splitting the work.'
          : '; 1 instance only (`TEST_DATABASE_URL` was not set, and PGlite cannot be shared between instances).'),
      'Baselines in the same run: a plain HTTP loop to the same stub (no database), and the same runs with the ' +
        'HTTP call refused before connecting (no request). Every round checks that each due run reached the stub ' +
        'exactly once (counted by its `x-rampart-run-id` header) and has exactly one `job_runs` row with the ' +
        'expected status; any difference fails the bench.',
    ].join('\n\n'),
    tables,
    notes,
    failures,
  };
}
