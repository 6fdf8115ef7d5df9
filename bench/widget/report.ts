// The report for the widget bench: the markdown tables, notes and intro of its section.
import { fmtLatency, type LatencySummary } from '../lib/latency.js';
import { POSTGRES_HOW, standaloneCommand } from '../lib/standalone.js';
import { type BenchOptions, type BenchSection, type Figure, figureTable, type Table } from '../lib/types.js';
import type { Admission, EngineResult, Triple } from './measure.js';
import { CLIENT_IPS, CONTENDED, KNOWLEDGE_BASE, planFor, SPREAD_ORGS } from './setup.js';

const share = (v: number) => `${(v * 100).toFixed(0)}%`;
const count = (v: number) => (v >= 1000 ? Math.round(v).toLocaleString('en-US') : v.toFixed(0));
const perSec = (v: number) => `${count(v)}/s`;
const messages = (v: number) => `${count(v)} messages/s`;
const us = (v: number) => `${v.toFixed(0)} µs`;

function httpTable(r: EngineResult): Table {
  const rows = (t: Triple) => {
    const name = (figure: string) => `${figure}, concurrency ${t.concurrency}`;
    const lat = (figure: string, pick: (s: LatencySummary) => number) => [
      name(figure),
      fmtLatency.ms(pick(t.widget)),
      fmtLatency.ms(pick(t.direct)),
      fmtLatency.ms(pick(t.gateway)),
      fmtLatency.delta(pick(t.widget) - pick(t.direct)),
      fmtLatency.delta(pick(t.widget) - pick(t.gateway)),
    ];
    return [
      [
        name('Throughput'),
        messages(t.widget.throughput),
        fmtLatency.rps(t.direct.throughput),
        fmtLatency.rps(t.gateway.throughput),
        `${share(t.widget.throughput / t.direct.throughput)} of direct`,
        `${share(t.widget.throughput / t.gateway.throughput)} of the gateway`,
      ],
      lat('p50 latency', (s) => s.p50),
      lat('p99 latency', (s) => s.p99),
    ];
  };
  return {
    caption:
      `${r.label}: visitor messages through the widget against the same load straight to the model stub and ` +
      `through the gateway (the stub received ${r.modelCall.chunks} retrieved chunks, ` +
      `${(r.modelCall.bytes / 1024).toFixed(1)} KB, per message)`,
    header: [
      'Figure',
      'Widget (`POST /widget/:id/messages`)',
      'Direct to the model stub (same run)',
      'Gateway (`POST /v1/chat/completions`, same run)',
      'Widget vs direct',
      'Widget vs gateway',
    ],
    rows: r.http.flatMap(rows),
  };
}

function admissionTable(r: EngineResult): Table {
  const rows = (a: Admission) => {
    const name = (figure: string) => `${figure}, concurrency ${a.concurrency}`;
    const cells = (pick: (s: LatencySummary) => number, fmt: (v: number) => string) => [
      fmt(pick(a.admit)),
      fmt(pick(a.select1)),
      a.admitSpread === undefined ? '–' : fmt(pick(a.admitSpread)),
      fmt(pick(a.lock)),
      fmt(pick(a.oneStatement)),
    ];
    return [
      [name('Admissions per second'), ...cells((s) => s.throughput, perSec)],
      [name('p50 latency'), ...cells((s) => s.p50, fmtLatency.ms)],
      [name('p99 latency'), ...cells((s) => s.p99, fmtLatency.ms)],
    ];
  };
  return {
    caption:
      `${r.label}: quota admission of one message, each call its own org transaction, all callers on one ` +
      `org's counter unless said otherwise (in-process, no HTTP)`,
    header: [
      'Figure',
      '`admitMessage` (one guarded upsert of the month’s counter)',
      'Peer: `SELECT 1` in the same transaction',
      `\`admitMessage\`, each caller its own org (${SPREAD_ORGS} rows)`,
      'Peer: advisory lock, read plan and counter, UPDATE',
      'Peer: one guarded upsert (plan limit in the statement)',
    ],
    rows: r.admission.flatMap(rows),
  };
}

function profileTable(r: EngineResult): Table {
  const p = r.profile;
  const shown = p.categories.filter((c) => c.share >= 0.01);
  const rest = p.categories.filter((c) => c.share < 0.01);
  const rows = shown.map((c) => [c.name, share(c.share), us(c.usPerRequest)]);
  if (rest.length > 0) {
    rows.push([
      `${rest.length} more, under 1% each`,
      share(rest.reduce((a, c) => a + c.share, 0)),
      us(rest.reduce((a, c) => a + c.usPerRequest, 0)),
    ]);
  }
  return {
    caption:
      `${r.label}: where Rampart's thread spends its time on widget messages at concurrency ${CONTENDED} ` +
      `(CPU profile of ${p.requests.toLocaleString('en-US')} more messages; the thread was busy ` +
      `${share(p.busyShare)} of the time and served ${perSec(p.throughput)} under the profiler)`,
    header: ['Self time in', 'Share of busy time', 'Per message'],
    rows,
  };
}

function headline(results: readonly EngineResult[]): Figure[] {
  const figures: Figure[] = [];
  const of = (ours: number, peer: number, what: string) => `${share(ours / peer)} of ${what}`;
  for (const r of results) {
    const engine = r.label.split(' (')[0] ?? r.label;
    const t = r.http.find((x) => x.concurrency === CONTENDED);
    const t1 = r.http.find((x) => x.concurrency === 1);
    const a = r.admission.find((x) => x.concurrency === CONTENDED);
    const a1 = r.admission.find((x) => x.concurrency === 1);
    if (t !== undefined) {
      const msgs = `${engine}: widget messages/s, concurrency ${CONTENDED}`;
      figures.push(
        {
          figure: msgs,
          ours: messages(t.widget.throughput),
          peer: `gateway: ${fmtLatency.rps(t.gateway.throughput)}`,
          ratio: of(t.widget.throughput, t.gateway.throughput, 'the gateway'),
          target: '–',
        },
        {
          figure: msgs,
          ours: messages(t.widget.throughput),
          peer: `model stub direct: ${fmtLatency.rps(t.direct.throughput)}`,
          ratio: of(t.widget.throughput, t.direct.throughput, 'direct'),
          target: '–',
        },
      );
    }
    if (t1 !== undefined)
      figures.push({
        figure: `${engine}: widget p50 latency, concurrency 1`,
        ours: fmtLatency.ms(t1.widget.p50),
        peer: `gateway: ${fmtLatency.ms(t1.gateway.p50)}`,
        ratio: `${fmtLatency.delta(t1.widget.p50 - t1.gateway.p50)} over the gateway`,
        target: '–',
      });
    const { sent, failed } = r.requests;
    figures.push({
      figure: `${engine}: requests not answered 200 (all targets, warm-up included)`,
      ours: `${failed.toLocaleString('en-US')} of ${sent.toLocaleString('en-US')}`,
      peer: '–',
      ratio: '–',
      target: `0 ${failed === 0 ? '✓' : '✗'}`,
    });
    if (a !== undefined && a1 !== undefined) {
      const adm = `${engine}: admissions/s on one org's row, concurrency ${CONTENDED}`;
      figures.push(
        {
          figure: adm,
          ours: perSec(a.admit.throughput),
          peer: `\`SELECT 1\` transaction: ${perSec(a.select1.throughput)}`,
          ratio: of(a.admit.throughput, a.select1.throughput, '`SELECT 1`'),
          target: '–',
        },
        ...(a.admitSpread === undefined
          ? []
          : [
              {
                figure: adm,
                ours: perSec(a.admit.throughput),
                peer: `each caller its own org's row: ${perSec(a.admitSpread.throughput)}`,
                ratio: of(a.admit.throughput, a.admitSpread.throughput, 'uncontended'),
                target: '–',
              },
            ]),
        {
          figure: adm,
          ours: perSec(a.admit.throughput),
          peer: `advisory lock, read, update: ${perSec(a.lock.throughput)}`,
          ratio: of(a.admit.throughput, a.lock.throughput, 'lock-then-check'),
          target: '–',
        },
        {
          figure: adm,
          ours: perSec(a.admit.throughput),
          peer: `one guarded upsert: ${perSec(a.oneStatement.throughput)}`,
          ratio: of(a.admit.throughput, a.oneStatement.throughput, 'one statement'),
          target: '–',
        },
        {
          figure: adm,
          ours: perSec(a.admit.throughput),
          peer: `concurrency 1: ${perSec(a1.admit.throughput)}`,
          ratio: of(a.admit.throughput, a1.admit.throughput, 'concurrency 1'),
          target: '–',
        },
      );
    }
  }
  return figures;
}

export function report(
  opts: BenchOptions,
  engines: readonly string[],
  results: readonly EngineResult[],
  failures: string[],
): BenchSection {
  const tables: Table[] = [
    figureTable('Headline figures (each against its peer in the same run)', headline(results)),
    ...results.map(httpTable),
    ...results.map(admissionTable),
    ...results.map(profileTable),
    {
      caption:
        'Pieces of each widget message, timed alone one after another on an idle server (median); each ' +
        'database piece is its own transaction',
      header: ['Piece', ...results.map((r) => r.label)],
      rows: [
        [
          'Widget lookup by id (`rampart_widget_public`, no tenant context yet)',
          ...results.map((r) => us(r.pieces.lookup)),
        ],
        ['Visitor token check and IP HMAC (CPU only)', ...results.map((r) => us(r.pieces.tokenAndIp))],
        ['Quota admission (`admitMessage`: one guarded upsert)', ...results.map((r) => us(r.pieces.admit))],
        ['The widget row again (`getWidget`)', ...results.map((r) => us(r.pieces.widgetRow))],
        ['Retrieval (full-text search, best 4 chunks)', ...results.map((r) => us(r.pieces.retrieve))],
        ['Message record (`INSERT INTO widget_messages`)', ...results.map((r) => us(r.pieces.record))],
        [
          'Sum of the five database transactions above',
          ...results.map((r) =>
            us(r.pieces.lookup + r.pieces.admit + r.pieces.widgetRow + r.pieces.retrieve + r.pieces.record),
          ),
        ],
        [
          'The model call as the widget makes it (`guardedFetch`: undici `fetch` through the outbound guard)',
          ...results.map((r) => us(r.pieces.modelFetch)),
        ],
        [
          'Reference: the same call as the gateway makes it (undici `dispatcher.request`, same guard)',
          ...results.map((r) => us(r.pieces.modelRequest)),
        ],
        [
          'Reference: an empty org transaction (BEGIN, role and tenant context, COMMIT)',
          ...results.map((r) => us(r.pieces.empty)),
        ],
      ],
    },
  ];

  const quick = planFor(false);
  const full = planFor(true);
  const notes: string[] = [
    ...results.map(
      (r) =>
        `${r.label}: with ${r.exactness.left} messages left in the month and ${r.exactness.left * 3} concurrent ` +
        `admissions (concurrency ${CONTENDED}, no credits), ${r.exactness.admitted} were admitted and ` +
        `${r.exactness.refused} refused with \`quota_exceeded\`.`,
    ),
    'Per message, the widget route looks the widget up by id, checks the origin and the visitor token, takes ' +
      'the per-IP and per-widget rate limits (in memory here: no `REDIS_URL`), admits the message against ' +
      'the month’s quota, reads the widget row, retrieves chunks, calls the model through the org’s provider ' +
      '(redaction on: the visitor’s message is redacted) and records the message; five database ' +
      'transactions, all on the response path. The gateway authenticates the API key and resolves the route ' +
      'from caches, redacts every message of the body (the system prompt with the retrieved chunks too) and ' +
      'writes its usage audit row after answering; each gateway round waits for those rows before the next ' +
      'round starts.',
    `The knowledge base is ${KNOWLEDGE_BASE.split(/^# /m).length - 1} chunks (13 help-centre sections and ` +
      'product pages). Retrieval OR-s every stemmed word of the question, and every product page mentions ' +
      'returns and exchanges, so nearly every chunk matches and is ranked: retrieval cost grows with the ' +
      'matching chunks, which is why it is the largest piece.',
    `The peers get the body the widget sent to the model (captured at the stub), so the model call is the same; ` +
      `the widget request itself is the visitor’s ${'{"message": …}'} only. The load cycles ` +
      `\`x-forwarded-for\` over ${CLIENT_IPS.length} addresses (Rampart trusts the loopback proxy) so the ` +
      'per-IP limit never binds; the widget allows 1,000,000 messages a minute. The org is on the business ' +
      'plan and its month’s counter is reset between rounds; every widget round checks that the counter rose ' +
      'by exactly the messages answered and that each was recorded once.',
    'Admission: each call is `db.org(org, q => admitMessage(q, org, now))`, as the message route runs it: ' +
      'the transaction wrapper (BEGIN, role and tenant context, COMMIT) around four statements (create the ' +
      'billing row if missing, read the plan, create the month’s usage row if missing, the guarded UPDATE). ' +
      'The `SELECT 1` peer is the same wrapper with one trivial statement: the floor for any per-message ' +
      'database work. The lock-then-check peer takes a per-org advisory lock, reads the plan and the counter, ' +
      'and updates it: the usual alternative when the check cannot be one statement. The one-upsert peer is ' +
      'the whole admission as a single guarded `INSERT … ON CONFLICT DO UPDATE … WHERE messages < limit`, ' +
      'with the plan’s limit looked up in the same statement. ' +
      `“Each caller its own org” runs the same admission with each of the ${CONTENDED} loops on its own ` +
      'org’s row, so the difference to one shared row is what the row lock costs. PGlite has one connection ' +
      'and runs transactions one at a time, so there is no contention to measure there; PostgreSQL uses ' +
      'Rampart’s pool of 10 connections.',
    'Closed loop: at concurrency N, N connections (or N in-process loops) each start the next request when ' +
      'the previous one has ended, so at concurrency 32 latency is mostly queueing (about 32 ÷ throughput).',
    'Threads: Rampart (with PGlite, which runs in-process) has the main thread; the load generator and the ' +
      'model stub share a worker thread. PostgreSQL runs on the same cores.',
    `Quick mode: ${quick.requests.toLocaleString('en-US')} recorded requests per point and target after ` +
      `${quick.warmup} warm-up requests, in ${quick.rounds} interleaved rounds; ` +
      `${quick.admissions.toLocaleString('en-US')} admissions per point and approach. \`--full\`: ` +
      `${full.requests.toLocaleString('en-US')} after ${full.warmup}, in ${full.rounds} rounds; ` +
      `${full.admissions.toLocaleString('en-US')} admissions. ${POSTGRES_HOW}`,
  ];

  const engineList = results.map((r) => r.label).join(' and ');
  return {
    id: 'widget',
    title: 'Chat widget messages and quota admission (`POST /widget/:id/messages`)',
    // Summary: messages against the gateway, and the quota check under contention against the uncontended
    // case and against one caller.
    headline: headline(results)
      .filter(
        (f) =>
          (f.figure.includes('widget messages/s') && f.peer.startsWith('gateway')) ||
          (f.figure.includes('admissions/s') &&
            (f.peer.startsWith('each caller') || f.peer.startsWith('concurrency 1'))),
      )
      .map((f) => ({
        ...f,
        figure: f.figure.replace('admissions/s on one org', 'quota admissions/s (atomic check) on one org'),
      })),
    command: standaloneCommand('bench/widget/index.ts', opts, engines.includes('postgres')),
    intro: [
      'Visitor messages through the full public widget path, against the same closed-loop load sent straight ' +
        'to a local model stub and through the gateway’s `POST /v1/chat/completions`, in one run. The widget ' +
        `has a ${(KNOWLEDGE_BASE.length / 1024).toFixed(0)} KB help centre (markdown, one chunk per section) ` +
        'as its knowledge base; the stub answers at once with a fixed `chat.completion`, so everything above ' +
        'the direct figures is Rampart. The run checks that the widget returns the model’s reply, that the ' +
        'model was sent the system prompt, the matching chunks and the visitor’s message, that every request ' +
        'was answered 200 and reached the stub once, and that each message was counted and recorded once.',
      `Quota admission (\`admitMessage\`: one guarded upsert of the org’s monthly counter that reads the plan ` +
        `in the same statement) at concurrency 1 and ${CONTENDED} on one ` +
        'org’s row, against a `SELECT 1` transaction, the same admission spread over one row per caller, an ' +
        'advisory-lock-then-check design and the admission as one guarded upsert; and the exactness of ' +
        `admission at the limit under contention. Databases: ${engineList}.`,
    ].join('\n\n'),
    tables,
    notes,
    failures,
  };
}
