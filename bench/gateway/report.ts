// The report for the gateway bench: the markdown tables, notes and intro of its section.
import { fmtLatency } from '../lib/latency.js';
import { POSTGRES_HOW, standaloneCommand } from '../lib/standalone.js';
import type { BenchOptions, BenchSection, Figure, Table } from '../lib/types.js';
import type { EngineResult, Pair } from './measure.js';
import {
  CHAT_BODY,
  planFor,
  TARGET_CONCURRENCY,
  TARGET_P50_ADDED_MS,
  TARGET_P99_ADDED_MS,
  USER_TEXT,
} from './setup.js';
import type { ProcessesRun } from './workers.js';

const mark = (ok: boolean) => (ok ? '✓' : '✗');
const share = (v: number) => `${(v * 100).toFixed(0)}%`;

function pairRows(p: Pair, suffix: string, withTarget: boolean, withAudit: boolean): string[][] {
  const atTarget = withTarget && p.concurrency === TARGET_CONCURRENCY;
  const added50 = p.via.p50 - p.direct.p50;
  const added99 = p.via.p99 - p.direct.p99;
  const name = (figure: string) => `${figure}, concurrency ${p.concurrency}${suffix}`;
  return [
    [
      name('p50 latency'),
      fmtLatency.ms(p.via.p50),
      fmtLatency.ms(p.direct.p50),
      fmtLatency.delta(added50),
      atTarget ? `added ≤ ${TARGET_P50_ADDED_MS} ms ${mark(added50 <= TARGET_P50_ADDED_MS)}` : '–',
    ],
    [
      name('p99 latency'),
      fmtLatency.ms(p.via.p99),
      fmtLatency.ms(p.direct.p99),
      fmtLatency.delta(added99),
      atTarget ? `added ≤ ${TARGET_P99_ADDED_MS} ms ${mark(added99 <= TARGET_P99_ADDED_MS)}` : '–',
    ],
    [
      name('Throughput'),
      fmtLatency.rps(p.via.throughput),
      fmtLatency.rps(p.direct.throughput),
      `${share(p.via.throughput / p.direct.throughput)} of direct`,
      '–',
    ],
    ...(withAudit ? [sustainedRow(p, name)] : []),
  ];
}

/** Throughput with the wait for the rounds' usage audit rows added to their wall time. */
function sustainedRow(p: Pair, name: (figure: string) => string): string[] {
  const wallMs = (p.via.requests / p.via.throughput) * 1000;
  const rps = p.via.requests / ((wallMs + p.settleMs) / 1000);
  return [
    name('Throughput incl. writing the audit rows'),
    fmtLatency.rps(rps),
    fmtLatency.rps(p.direct.throughput),
    `${share(rps / p.direct.throughput)} of direct`,
    '–',
  ];
}

function engineTable(r: EngineResult): Table {
  return {
    caption: `${r.label}: through Rampart (redaction on) against straight to the stub`,
    header: ['Figure', 'Through Rampart', 'Direct to the stub (same run)', 'Added by Rampart', 'Target'],
    rows: [
      ...r.on.flatMap((p) => pairRows(p, '', true, true)),
      ...pairRows(r.off, ', redaction off (key override)', false, true),
      ...pairRows(r.limited, ', limits on (key RPM, TPM and budget)', false, true),
    ],
  };
}

function profileTable(r: EngineResult): Table {
  const p = r.profile;
  const shown = p.categories.filter((c) => c.share >= 0.01);
  const rest = p.categories.filter((c) => c.share < 0.01);
  const rows = shown.map((c) => [c.name, share(c.share), `${c.usPerRequest.toFixed(0)} µs`]);
  if (rest.length > 0) {
    const s = rest.reduce((a, c) => a + c.share, 0);
    const us = rest.reduce((a, c) => a + c.usPerRequest, 0);
    rows.push([`${rest.length} more, under 1% each`, share(s), `${us.toFixed(0)} µs`]);
  }
  return {
    caption:
      `${r.label}: where Rampart's thread spends its time at concurrency ${TARGET_CONCURRENCY}, redaction on ` +
      `(CPU profile of ${p.requests.toLocaleString('en-US')} more requests; the thread was busy ` +
      `${share(p.busyShare)} of the time and served ${fmtLatency.rps(p.throughput)} under the profiler)`,
    header: ['Self time in', 'Share of busy time', 'Per request'],
    rows,
  };
}

/** Targets for several processes (issue 23): against the bare proxy with as many processes. */
export const PROCESS_TARGETS = { c32AddedP50VsBare: 2, c32ThroughputVsBare: 0.7, c1AddedP50Ms: 1 } as const;

function processTable(run: ProcessesRun): Table {
  const rows: string[][] = [];
  for (const r of run.results) {
    for (const ramp of r.rampart) {
      const bare = r.bare.find((b) => b.concurrency === ramp.concurrency);
      if (bare === undefined) continue;
      const addR = ramp.via.p50 - ramp.direct.p50;
      const addB = bare.via.p50 - bare.direct.p50;
      const tput = ramp.via.throughput / bare.via.throughput;
      const targets =
        ramp.concurrency === TARGET_CONCURRENCY
          ? `added p50 ≤ ${PROCESS_TARGETS.c32AddedP50VsBare}× the bare proxy's ${mark(addR <= PROCESS_TARGETS.c32AddedP50VsBare * addB)}; ` +
            `throughput ≥ ${PROCESS_TARGETS.c32ThroughputVsBare}× ${mark(tput >= PROCESS_TARGETS.c32ThroughputVsBare)}`
          : ramp.concurrency === 1
            ? `added p50 ≤ ${PROCESS_TARGETS.c1AddedP50Ms} ms ${mark(addR <= PROCESS_TARGETS.c1AddedP50Ms)}`
            : '–';
      rows.push([
        String(r.processes),
        String(ramp.concurrency),
        `${fmtLatency.ms(ramp.via.p50)} (${fmtLatency.delta(addR)})`,
        `${fmtLatency.ms(bare.via.p50)} (${fmtLatency.delta(addB)})`,
        `${(addR / addB).toFixed(1)}×`,
        fmtLatency.rps(ramp.via.throughput),
        fmtLatency.rps(bare.via.throughput),
        `${tput.toFixed(2)}×`,
        targets,
      ]);
    }
  }
  return {
    caption:
      `Processes on one port, PostgreSQL ${run.pgVersion}: Rampart started as an operator would (\`rampart start\`, ` +
      '`RAMPART_WORKERS` = 1 or 2, request logs at info) against the bare proxy in as many processes ' +
      '(node:cluster with 2, a plain process with 1); p50 with the latency added over direct to the stub (same run)',
    header: [
      'Processes',
      'Concurrency',
      'Rampart p50 (added)',
      'Bare proxy p50 (added)',
      'Added, Rampart ÷ bare',
      'Rampart throughput',
      'Bare proxy throughput',
      'Throughput, Rampart ÷ bare',
      'Targets',
    ],
    rows,
  };
}

function processHeadline(run: ProcessesRun): Figure[] {
  const figs: Figure[] = [];
  for (const r of run.results) {
    const ramp = r.rampart.find((p) => p.concurrency === TARGET_CONCURRENCY);
    const bare = r.bare.find((p) => p.concurrency === TARGET_CONCURRENCY);
    if (ramp === undefined || bare === undefined) continue;
    const tput = ramp.via.throughput / bare.via.throughput;
    figs.push({
      figure: `Gateway throughput, concurrency ${TARGET_CONCURRENCY}, ${r.processes} process${r.processes > 1 ? 'es' : ''} (RAMPART_WORKERS, PostgreSQL)`,
      ours: fmtLatency.rps(ramp.via.throughput),
      peer: `bare Node.js proxy, ${r.processes} process${r.processes > 1 ? 'es' : ''}: ${fmtLatency.rps(bare.via.throughput)}`,
      ratio: `${tput.toFixed(2)}×`,
      target: `≥ ${PROCESS_TARGETS.c32ThroughputVsBare}× ${mark(tput >= PROCESS_TARGETS.c32ThroughputVsBare)}`,
    });
  }
  return figs;
}

export function report(
  opts: BenchOptions,
  engines: readonly string[],
  results: readonly EngineResult[],
  bare: readonly Pair[],
  redactUs: number,
  failures: string[],
  processes?: ProcessesRun,
  load?: { before: string; after: string },
): BenchSection {
  const tables: Table[] = [
    ...results.map(engineTable),
    {
      caption:
        'Reference: a bare Node.js pass-through proxy on the same thread (node:http in, undici out; no auth, ' +
        'database, validation or redaction)',
      header: [
        'Figure',
        'Through the bare proxy',
        'Direct to the stub (same run)',
        'Added by the proxy',
        'Target',
      ],
      rows: bare.flatMap((p) => pairRows(p, '', false, false)),
    },
    ...(processes?.results.length ? [processTable(processes)] : []),
    ...results.map(profileTable),
    {
      caption: 'Pieces of each request, timed alone one after another on an idle server (median)',
      header: ['Piece', ...results.map((r) => r.label)],
      rows: [
        [
          `Redact the messages of this body (\`redactChatMessages\`, ${(USER_TEXT.length / 1024).toFixed(1)} KB of text)`,
          ...results.map(() => `${redactUs.toFixed(0)} µs`),
        ],
        [
          'An empty org transaction (BEGIN, app role and tenant context, COMMIT); route resolution is one of these ' +
            'plus its query',
          ...results.map((r) => `${r.pieces.transaction.toFixed(0)} µs`),
        ],
        [
          'One usage audit row (hash-chain head upsert, insert, head update) in its own transaction',
          ...results.map((r) => `${r.pieces.audit.toFixed(0)} µs`),
        ],
        [
          'One usage audit row, in a transaction of 50 (per row)',
          ...results.map((r) => `${r.pieces.auditBatched.toFixed(0)} µs`),
        ],
      ],
    },
  ];

  const firstDirect = results[0]?.on.find((x) => x.concurrency === TARGET_CONCURRENCY)?.direct.p50;
  const notes: string[] = [];
  for (const r of results) {
    const p = r.on.find((x) => x.concurrency === TARGET_CONCURRENCY);
    if (p === undefined) continue;
    notes.push(
      `${r.label}, concurrency ${TARGET_CONCURRENCY}: added p50 per round ranged from ` +
        `${fmtLatency.delta(Math.min(...p.roundAddedP50))} to ${fmtLatency.delta(Math.max(...p.roundAddedP50))} ` +
        `over the ${p.roundAddedP50.length} interleaved rounds. When a Rampart round ended, up to ` +
        `${r.auditBacklog.rows.toLocaleString('en-US')} usage audit rows were still to be written; the longest ` +
        `wait for them was ${fmtLatency.ms(r.auditBacklog.drainMs)} (outside the measured time).`,
    );
  }
  if (processes?.results.length) {
    const one = processes.results
      .find((r) => r.processes === 1)
      ?.rampart.find((p) => p.concurrency === TARGET_CONCURRENCY);
    const two = processes.results
      .find((r) => r.processes === 2)
      ?.rampart.find((p) => p.concurrency === TARGET_CONCURRENCY);
    notes.push(
      'Processes table: each setup in turn (bare ×1, Rampart ×1, bare ×2, Rampart ×2), each with its own direct ' +
        'rounds. Rampart there is the built CLI (`packages/cli/dist`: run `npx tsc -b` first) in its own processes, with development defaults and request ' +
        'logging at info (two log lines per request, read and dropped by the bench), unlike the in-process tables ' +
        'above (logs silenced). The two cores are shared by the load generator and the stub (one thread), ' +
        'PostgreSQL, and with 2 workers the cluster primary, which accepts every connection and hands it to a ' +
        'worker: 2 workers cannot double the throughput of 1 here, and a dedicated host with more cores than ' +
        'workers would do better.' +
        (one && two
          ? ` Rampart's throughput at concurrency ${TARGET_CONCURRENCY}: ${fmtLatency.rps(one.via.throughput)} with 1 ` +
            `worker, ${fmtLatency.rps(two.via.throughput)} with 2 (${(two.via.throughput / one.via.throughput).toFixed(2)}×).`
          : ''),
    );
  }
  if (load)
    notes.push(
      `Machine load (1-, 5- and 15-minute load averages; other work shared the machine): ${load.before} when the ` +
        `section started, ${load.after} when it ended.`,
    );
  notes.push(
    'Closed loop: at concurrency N, N connections each send the next request as soon as the previous answer ' +
      'has been read. At concurrency 32 a request mostly waits behind the other 31, so latency is about ' +
      '32 ÷ throughput (Little’s law): the added latency there is Rampart’s CPU time per request times the ' +
      `queue, not a fixed hop cost. Meeting +${TARGET_P50_ADDED_MS} ms at concurrency ${TARGET_CONCURRENCY} means ` +
      `serving about ${TARGET_CONCURRENCY} ÷ (direct p50 + ${TARGET_P50_ADDED_MS} ms)` +
      (firstDirect === undefined
        ? ''
        : ` ≈ ${fmtLatency.rps((TARGET_CONCURRENCY / (firstDirect + TARGET_P50_ADDED_MS)) * 1000)}`) +
      ' on one thread; the bare proxy table shows what a single Node.js hop alone costs on this machine.',
    'Per request, Rampart authenticates the API key (hash lookup, cached up to 5 s), resolves the route ' +
      '(provider, org redaction setting, the unsealed provider key), validates the body, redacts the messages ' +
      'and calls the provider through the outbound guard. The usage audit row (hash-chained, in order per org) ' +
      'is written after the answer, off the response path but on the same thread and database; each round ' +
      'waits for its rows before the next one starts, and the “incl. writing the audit rows” rows count that ' +
      'wait, which is what a sustained load would have to keep up with.',
    'Threads: Rampart (with PGlite, which runs in-process) has the main thread; the load generator and the ' +
      'stub share a worker thread, so they do the same work in both measurements. PostgreSQL runs on the same ' +
      'two cores. On a dedicated gateway host the load generator and the stub would not compete with Rampart ' +
      'for CPU.',
    'The profile tables charge native builtins (JSON, crypto, regular expressions) and Node.js internals to ' +
      'the package or Rampart code that called them; “Node.js core on its own” is what ran with no such caller ' +
      '(parsing requests and responses off the sockets, timers). The profiler slows the thread, so its ' +
      'per-request figures read high.',
    `Quick mode: ${planFor(false).requests.toLocaleString('en-US')} recorded requests per point and side after ` +
      `${planFor(false).warmup} warm-up requests, in ${planFor(false).rounds} rounds; \`--full\`: ` +
      `${planFor(true).requests.toLocaleString('en-US')} after ${planFor(true).warmup.toLocaleString('en-US')}, ` +
      `in ${planFor(true).rounds} rounds. ${POSTGRES_HOW}`,
  );

  const engineList = results.map((r) => r.label).join(' and ');
  // Summary: the added latency at concurrency 1 and at the target concurrency, per database.
  const headline: Figure[] = results.flatMap((r) =>
    r.on
      .filter((p) => p.concurrency === 1 || p.concurrency === TARGET_CONCURRENCY)
      .flatMap((p) => pairRows(p, '', true, false).slice(0, 2))
      .map(([figure = '', via = '', direct = '', added = '', target = '']) => ({
        figure: `Gateway ${figure} (${r.label.replace(/ \(.*\)$/, '')}, redaction on)`,
        ours: via,
        peer: `straight to the stub: ${direct}`,
        ratio: `${added} added`,
        target,
      })),
  );
  if (processes) headline.push(...processHeadline(processes));
  return {
    id: 'gateway',
    title: 'LLM gateway overhead (`POST /v1/chat/completions`)',
    headline,
    command: standaloneCommand('bench/gateway/index.ts', opts, engines.includes('postgres')),
    intro: [
      'The same load, in the same run, sent straight to a local upstream stub and through Rampart: ' +
        `OpenAI-style \`POST /v1/chat/completions\` with a ${(CHAT_BODY.length / 1024).toFixed(1)} KB chat body ` +
        '(a support thread to summarise, with five e-mail addresses and three phone numbers), an org API key, ' +
        'PII redaction on (the org default), and the stub registered as the org’s provider. The stub answers ' +
        'at once with a fixed `chat.completion`, so everything above the direct figures is the hop through ' +
        'Rampart. The run checks that the stub received the redacted messages (and the raw ones through a key ' +
        'that overrides redaction off), that every request was answered 200, and that the stub saw each one.',
      `Databases: ${engineList}. Latency is measured per request by the client (from handing the request to ` +
        'undici to reading the whole answer); figures are percentiles over all recorded requests, with direct ' +
        'and Rampart rounds interleaved so machine noise falls on both. Added = Rampart minus direct at the ' +
        `same percentile and concurrency. Target: p50 added ≤ ${TARGET_P50_ADDED_MS} ms and p99 added ≤ ` +
        `${TARGET_P99_ADDED_MS} ms at concurrency ${TARGET_CONCURRENCY}, redaction on.`,
    ].join('\n\n'),
    tables,
    notes,
    failures,
  };
}
