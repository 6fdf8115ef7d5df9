/**
 * Widget vectors and hybrid retrieval (issue 25 §1), on every engine: chunks embedded in the background through
 * the org's provider (a local stand-in speaking OpenAI's embeddings protocol), full-text + vector retrieval fused
 * by reciprocal rank, cross-tenant isolation of vectors, a provider that is down at ingest (nothing lost, embedded
 * later), re-embedding in batches when the model changes, and PII redaction of what is embedded.
 *
 * The stand-in embeds by concept: words of one concept ("refund", "reimbursement", "money back") share a
 * dimension, every other word gets a hashed one. So a question can match a passage that shares no word with it,
 * which full-text search cannot find: the case vectors exist for.
 */
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Account, api, signup } from '@rampart/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { retrieve, tuneVectorScan, vectorSupport } from '../src/widget/retrieval.js';
import { ENGINES, startTestServer } from './helpers.js';
import { visitor } from './widget-support.js';

const DIMS = 256;
const CONCEPTS: Record<string, string[]> = {
  refund: ['refund', 'refunds', 'reimbursement', 'reimbursements', 'reimbursed', 'money', 'repaid'],
  ship: ['shipping', 'ship', 'parcel', 'parcels', 'courier', 'delivery', 'deliver'],
  login: ['password', 'login', 'credentials', 'sign-in', 'passphrase'],
};
const conceptOf = new Map(Object.entries(CONCEPTS).flatMap(([c, words]) => words.map((w) => [w, c])));

/** A deterministic embedding: concept dimensions weigh 3, other words 1 (hashed into the rest). */
function embed(text: string, dims = DIMS): number[] {
  const v = new Array<number>(dims).fill(0);
  const concepts = Object.keys(CONCEPTS);
  for (const word of text.toLowerCase().match(/[a-z][a-z-]+/g) ?? []) {
    const c = conceptOf.get(word);
    if (c) v[concepts.indexOf(c)] = (v[concepts.indexOf(c)] ?? 0) + 3;
    else {
      const h = createHash('sha256').update(word).digest().readUInt32BE(0);
      const i = concepts.length + (h % (dims - concepts.length));
      v[i] = (v[i] ?? 0) + 1;
    }
  }
  return v;
}

interface EmbedCall {
  model: string;
  input: string[];
  dimensions?: number;
}

async function startProvider() {
  const state = { down: false, embedCalls: [] as EmbedCall[], chats: [] as string[] };
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => {
      raw += c;
    });
    req.on('end', () => {
      const body = JSON.parse(raw) as Record<string, unknown>;
      if (req.url === '/v1/embeddings') {
        const input = typeof body.input === 'string' ? [body.input] : (body.input as string[]);
        state.embedCalls.push({
          model: String(body.model),
          input,
          ...(body.dimensions ? { dimensions: Number(body.dimensions) } : {}),
        });
        if (state.down) {
          res.writeHead(503, { 'content-type': 'application/json' });
          res.end('{"error":{"message":"overloaded","type":"server_error"}}');
          return;
        }
        const dims = typeof body.dimensions === 'number' ? body.dimensions : DIMS;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            object: 'list',
            // Reversed, as a provider may: the client must place vectors by index.
            data: input
              .map((t, index) => ({ object: 'embedding', index, embedding: embed(t, dims) }))
              .reverse(),
            model: body.model,
            usage: { prompt_tokens: input.length, total_tokens: input.length },
          }),
        );
        return;
      }
      const messages = body.messages as Array<{ content: string }>;
      state.chats.push(messages[0]?.content ?? '');
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          id: 'c1',
          object: 'chat.completion',
          created: 1,
          model: body.model,
          choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
          usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    state,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const SHOP = 'https://shop.example.com';
const PASSAGES = {
  refund: 'Reimbursements reach the original card within ten business days.',
  ship: 'Parcels travel by courier and arrive in five days.',
  cat: 'Our office cat is named Biscuit and likes the window.',
  login: 'Reset your passphrase from the account page.',
};
type Status = {
  model: string | null;
  total: number;
  embedded: number;
  failing: number;
  lastError: string | null;
};

describe.each(ENGINES)('widget vectors and hybrid retrieval (%s)', (engine) => {
  let srv: Awaited<ReturnType<typeof startTestServer>>;
  let provider: Awaited<ReturnType<typeof startProvider>>;
  let owner: Account;
  let widgetId: string;
  const o = (acc: Account = owner) => `/api/orgs/${acc.orgId}`;
  const a = (acc: Account = owner) => api(srv.baseUrl, acc.token);

  const newWidget = async (acc: Account, extra: Record<string, unknown> = {}) => {
    const r = await a(acc).put(`${o(acc)}/providers/stub`, {
      baseUrl: `${provider.origin}/v1`,
      apiKey: 'sk-stub-provider-key-000000',
      models: ['chat-model', 'embed-a', 'embed-b'],
    });
    expect(r.status, r.text).toBe(200);
    const w = await a(acc).post<{ id: string; embeddingModel: string | null; minSimilarity: number }>(
      `${o(acc)}/widgets`,
      { name: 'help', allowedOrigins: [SHOP], model: 'chat-model', embeddingModel: 'embed-a', ...extra },
    );
    expect(w.status, w.text).toBe(201);
    return w.body;
  };
  const add = async (acc: Account, wid: string, name: string, content: string) => {
    const r = await a(acc).post(`${o(acc)}/widgets/${wid}/documents`, { name, content });
    expect(r.status, r.text).toBe(201);
  };
  const status = async (acc: Account, wid: string) => {
    const r = await a(acc).get<Status>(`${o(acc)}/widgets/${wid}/embeddings`);
    expect(r.status, r.text).toBe(200);
    return r.body;
  };
  const until = async (acc: Account, wid: string, ok: (s: Status) => boolean, what: string) => {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const s = await status(acc, wid);
      if (ok(s)) return s;
      if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(s)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const fullyEmbedded = (s: Status) => s.total > 0 && s.embedded === s.total;
  /** Retrieval as the message path runs it, through the server's own database handle. */
  const search = async (
    acc: Account,
    wid: string,
    question: string,
    mode: 'fulltext' | 'vector' | 'hybrid',
    key = 'embed-a',
  ) => {
    const db = srv.rampart.services.db;
    const support = await vectorSupport(db);
    const raw = embed(question);
    const n = Math.hypot(...raw);
    const vector = mode === 'fulltext' ? null : { values: raw.map((x) => x / n), key };
    return db.org(acc.orgId, async (q) => {
      await tuneVectorScan(q, support);
      return retrieve(q, acc.orgId, wid, question, 4, { mode, vector, support });
    });
  };

  beforeAll(async () => {
    provider = await startProvider();
    srv = await startTestServer(engine, {
      RAMPART_OUTBOUND_ALLOW: '127.0.0.1',
      RAMPART_TRUST_PROXY: '127.0.0.1',
      RAMPART_WIDGET_EMBED_POLL_MS: '100',
      RAMPART_WIDGET_EMBED_BATCH: '2',
    });
    owner = await signup(srv.baseUrl);
    widgetId = (await newWidget(owner)).id;
    for (const [name, text] of Object.entries(PASSAGES)) await add(owner, widgetId, `${name}.txt`, text);
    await until(owner, widgetId, fullyEmbedded, 'initial embedding');
  });
  afterAll(async () => {
    await srv?.close();
    await provider?.close();
  });

  it('embeds every chunk in the background, in batches of RAMPART_WIDGET_EMBED_BATCH', async () => {
    const s = await status(owner, widgetId);
    expect(s).toMatchObject({ model: 'embed-a', total: 4, embedded: 4, failing: 0, lastError: null });
    const chunkCalls = provider.state.embedCalls.filter((c) =>
      c.input.some((t) => Object.values(PASSAGES).includes(t)),
    );
    expect(chunkCalls.every((c) => c.input.length <= 2 && c.model === 'embed-a')).toBe(true);
    expect(chunkCalls.flatMap((c) => c.input).sort()).toEqual(Object.values(PASSAGES).sort());
    if (engine === 'pglite') expect((await vectorSupport(srv.rampart.services.db)).pgvector).toBe(true);
  });

  it('vector and hybrid retrieval find a passage that shares no word with the question; full text cannot', async () => {
    const question = 'How long does a refund take?';
    expect(await search(owner, widgetId, question, 'fulltext')).toEqual([]);
    const vec = await search(owner, widgetId, question, 'vector');
    expect(vec[0]?.content).toBe(PASSAGES.refund);
    expect(vec[0]?.similarity).toBeGreaterThan(0.5);
    // Similarities come back in order: the cosine of the question with each passage, largest first.
    const sims = vec.map((h) => h.similarity ?? 0);
    expect([...sims].sort((x, y) => y - x)).toEqual(sims);
    const hybrid = await search(owner, widgetId, question, 'hybrid');
    expect(hybrid[0]?.content).toBe(PASSAGES.refund);
  });

  it('hybrid fuses both lists: a full-text hit and a vector hit both make the top results', async () => {
    // "cat" is only a word match; "courier" reaches the parcel passage by concept and by word.
    const hybrid = await search(owner, widgetId, 'cat window delivery', 'hybrid');
    const top = hybrid.slice(0, 2).map((h) => h.content);
    expect(top).toContain(PASSAGES.cat);
    expect(top).toContain(PASSAGES.ship);
    expect(hybrid[0]?.score).toBeGreaterThan(hybrid.at(-1)?.score ?? 0);
  });

  it('with pgvector, a vector search can run on the HNSW index of its size (exact scoring without it)', async () => {
    const db = srv.rampart.services.db;
    const support = await vectorSupport(db);
    if (engine === 'pglite') expect(support.pgvector).toBe(true);
    const plan = await db.org(owner.orgId, async (q) => {
      // A tiny table is cheaper to scan than to probe: take that choice away to see that the index can serve.
      await q.query(
        `SELECT set_config('enable_seqscan', 'off', true), set_config('enable_bitmapscan', 'off', true)`,
      );
      const v = `{${new Array(DIMS)
        .fill(0)
        .map((_, i) => (i === 0 ? 1 : 0))
        .join(',')}}`;
      const distance = support.pgvector
        ? `embedding::vector(${DIMS}) <=> '${v}'::real[]::vector(${DIMS})`
        : `1 - rampart_dot(embedding, '${v}'::real[])`;
      const { rows } = await q.query<{ 'QUERY PLAN': string }>(
        `EXPLAIN SELECT id FROM widget_chunks WHERE array_length(embedding, 1) = ${DIMS} ORDER BY ${distance} LIMIT 4`,
      );
      return rows.map((r) => r['QUERY PLAN']).join('\n');
    });
    if (support.pgvector) expect(plan).toContain(`widget_chunks_hnsw_${DIMS}`);
    else expect(plan).not.toContain('hnsw');
  });

  it('the message path embeds the question and sends the vector-found passage to the model', async () => {
    const v = visitor(srv.baseUrl, widgetId, SHOP);
    const token = (await v.session()).body.visitorToken;
    const before = provider.state.chats.length;
    const r = await v.message(token, 'Can I get my money back?');
    expect(r.status, r.text).toBe(200);
    expect(provider.state.chats[before]).toContain(PASSAGES.refund);
    expect(provider.state.embedCalls.at(-1)?.input).toEqual(['Can I get my money back?']);
  });

  it("vectors never cross tenants: another org's identical passage is not returned, even by vector", async () => {
    const other = await signup(srv.baseUrl);
    const theirs = (await newWidget(other)).id;
    const secret = 'Reimbursements for vault 4417 are repaid in cash.';
    await add(other, theirs, 'vault.txt', secret);
    await until(other, theirs, fullyEmbedded, 'other org embedding');
    for (const mode of ['vector', 'hybrid', 'fulltext'] as const) {
      const mine = await search(owner, widgetId, 'vault 4417 reimbursements repaid', mode);
      expect(mine.map((h) => h.content)).not.toContain(secret);
      // Our widget id read in their org context finds nothing at all (RLS), theirs in ours likewise.
      expect(await search(other, widgetId, 'reimbursements', mode)).toEqual([]);
      expect(await search(owner, theirs, 'reimbursements', mode)).toEqual([]);
    }
    expect((await search(other, theirs, 'refund please', 'vector'))[0]?.content).toBe(secret);
    // The progress and retry routes are 404 across tenants.
    expect((await a(other).get(`${o(other)}/widgets/${widgetId}/embeddings`)).status).toBe(404);
    expect((await a(other).post(`${o(other)}/widgets/${widgetId}/embeddings/retry`, {})).status).toBe(404);
    expect((await a(owner).get(`${o(owner)}/widgets/${theirs}/embeddings`)).status).toBe(404);
  });

  it('a provider down at ingest loses nothing: full text answers at once, vectors follow when it is back', async () => {
    const acc = await signup(srv.baseUrl);
    const wid = (await newWidget(acc)).id;
    provider.state.down = true;
    const downFrom = provider.state.embedCalls.length;
    try {
      // One document of three long paragraphs: three chunks, two batches (RAMPART_WIDGET_EMBED_BATCH is 2).
      const long = (p: string) => `${p} ${'More detail follows here. '.repeat(28)}`;
      await add(acc, wid, 'faq.txt', [PASSAGES.ship, PASSAGES.cat, PASSAGES.login].map(long).join('\n\n'));
      // One failed batch backs off the whole widget: every due chunk waits, and the provider is not asked again
      // for each remaining batch.
      const failed = await until(
        acc,
        wid,
        (s) => s.failing === 3 && s.lastError !== null,
        'failure recorded',
      );
      expect(failed).toMatchObject({ total: 3, embedded: 0 });
      const calls = provider.state.embedCalls.length;
      await new Promise((r) => setTimeout(r, 500)); // five polls
      expect(provider.state.embedCalls.length).toBe(calls);
      expect(calls - downFrom).toBe(1);
      expect(failed.lastError).toContain('503');
      // The document and its full-text chunk are there; the visitor is answered from them.
      const docs = await a(acc).get<{ documents: Array<{ chunks: number }> }>(
        `${o(acc)}/widgets/${wid}/documents`,
      );
      expect(docs.body.documents).toEqual([expect.objectContaining({ chunks: 3 })]);
      expect((await search(acc, wid, 'courier parcels', 'fulltext'))[0]?.content).toContain(PASSAGES.ship);
      const v = visitor(srv.baseUrl, wid, SHOP);
      const before = provider.state.chats.length;
      expect((await v.message((await v.session()).body.visitorToken, 'courier parcels?')).status).toBe(200);
      expect(provider.state.chats[before]).toContain(PASSAGES.ship);
    } finally {
      provider.state.down = false;
    }
    const retry = await a(acc).post<{ retried: number }>(`${o(acc)}/widgets/${wid}/embeddings/retry`, {});
    expect(retry.status, retry.text).toBe(200);
    const done = await until(acc, wid, fullyEmbedded, 'embedded after recovery');
    expect(done).toMatchObject({ failing: 0, lastError: null });
  });

  it('changing the model re-embeds every chunk in batches, and retrieval ignores vectors of the old model', async () => {
    const acc = await signup(srv.baseUrl);
    const wid = (await newWidget(acc)).id;
    for (const [name, text] of Object.entries(PASSAGES)) await add(acc, wid, `${name}.txt`, text);
    await until(acc, wid, fullyEmbedded, 'first model');
    const mark = provider.state.embedCalls.length;
    const r = await a(acc).patch(`${o(acc)}/widgets/${wid}`, {
      embeddingModel: 'embed-b',
      embeddingDimensions: 128,
    });
    expect(r.status, r.text).toBe(200);
    const s = await until(acc, wid, (x) => x.model === 'embed-b' && fullyEmbedded(x), 'second model');
    expect(s.total).toBe(4);
    const calls = provider.state.embedCalls
      .slice(mark)
      .filter((c) => c.model === 'embed-b' && c.input.length > 1);
    expect(calls.length).toBeGreaterThanOrEqual(2); // 4 chunks, batches of 2
    expect(calls.every((c) => c.dimensions === 128)).toBe(true);
    // A question vector of the old model finds nothing by vector: its key matches no chunk any more.
    expect(await search(acc, wid, 'refund', 'vector', 'embed-a')).toEqual([]);
    // Full-text hits say whether they carry the question's key: a hit not embedded under it (here: the old key)
    // cannot be judged by similarity, and answer() counts it as an answer rather than as a miss.
    const old = await search(acc, wid, 'courier parcels', 'hybrid', 'embed-a');
    expect(old.length).toBeGreaterThan(0);
    expect(old.every((h) => h.similarity === null && !h.embedded)).toBe(true);
  });

  it('redacts personal data out of what is embedded when the org redacts', async () => {
    const acc = await signup(srv.baseUrl);
    const s = await a(acc).patch(`${o(acc)}/settings`, { piiRedaction: true });
    expect(s.status, s.text).toBe(200);
    const wid = (await newWidget(acc)).id;
    await add(acc, wid, 'contact.txt', 'Write to jane.doe@example.com for a refund.');
    await until(acc, wid, fullyEmbedded, 'redacted embedding');
    const sent = provider.state.embedCalls.flatMap((c) => c.input).join('\n');
    expect(sent).toContain('Write to [EMAIL] for a refund.');
    expect(sent).not.toContain('jane.doe@example.com');
  });

  it('validates the embedding settings', async () => {
    for (const bad of [
      { embeddingDimensions: 8 },
      { embeddingDimensions: 4096 },
      { minSimilarity: 1.5 },
      { embeddingModel: '' },
    ]) {
      const r = await a().patch<{ error: string }>(`${o()}/widgets/${widgetId}`, bad);
      expect(r.status, JSON.stringify(bad)).toBe(400);
      expect(r.body.error).toBe('validation_failed');
    }
    const off = await a().post<{ embeddingModel: string | null; minSimilarity: number }>(`${o()}/widgets`, {
      name: 'plain',
      allowedOrigins: [SHOP],
      model: 'chat-model',
    });
    // The free plan allows one widget; the defaults are what matters when it does.
    if (off.status === 201) expect(off.body).toMatchObject({ embeddingModel: null, minSimilarity: 0.3 });
    else expect(off.status).toBe(429);
  });
});
