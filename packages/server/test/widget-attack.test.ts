/**
 * Attacks on issue 25 (widget embeddings, PDF/HTML/URL ingestion, sealed conversations): a security review's
 * reproductions. Each `Found in review` / `BUG` comment marks a bug found in review, reproduced, fixed, and kept
 * here as its regression test; the others are guards that passed from the start.
 *
 * One engine (PGlite): nothing here depends on SQL semantics that differ between engines. The model provider and
 * the web site fetched from are local servers on the name `localhost`, the only host RAMPART_OUTBOUND_ALLOW lets
 * through, so the outbound guard still refuses every address literal (127.0.0.1 included).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { deflateSync } from 'node:zlib';
import { type Account, api, signup } from '@rampart/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extractDocument } from '../src/widget/documents.js';
import { extractHtml } from '../src/widget/extract.js';
import { tablesContaining } from './fixtures.js';
import { startTestServer } from './helpers.js';
import { textPdf } from './pdf-fixtures.js';
import { visitor } from './widget-support.js';

type Srv = Awaited<ReturnType<typeof startTestServer>>;
type Err = { error: string; message: string };

const SHOP = 'https://shop.example.com';
const PROVIDER_KEY = 'sk-attack-provider-key-1234567890';
const DIMS = 32;

/**
 * A PDF whose `pages` pages all draw one shared FlateDecode content stream: `content` decompressed, a few KB on
 * the wire. Every page re-parses the whole stream.
 */
export function sharedStreamPdf(pages: number, content: Buffer): Buffer {
  const z = deflateSync(content, { level: 9 });
  const parts: Buffer[] = [];
  const offsets: number[] = [];
  let pos = 0;
  const push = (b: Buffer | string) => {
    const buf = typeof b === 'string' ? Buffer.from(b, 'latin1') : b;
    parts.push(buf);
    pos += buf.length;
  };
  const obj = (n: number, body: string) => {
    offsets[n] = pos;
    push(`${n} 0 obj\n${body}\nendobj\n`);
  };
  push('%PDF-1.4\n');
  obj(1, '<< /Type /Catalog /Pages 2 0 R >>');
  const kids = Array.from({ length: pages }, (_, i) => `${4 + i} 0 R`).join(' ');
  obj(2, `<< /Type /Pages /Kids [${kids}] /Count ${pages} >>`);
  offsets[3] = pos;
  push(`3 0 obj\n<< /Length ${z.length} /Filter /FlateDecode >>\nstream\n`);
  push(z);
  push('\nendstream\nendobj\n');
  for (let i = 0; i < pages; i++)
    obj(4 + i, '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 3 0 R >>');
  const n = 4 + pages;
  const xref = pos;
  let x = `xref\n0 ${n}\n0000000000 65535 f \n`;
  for (let i = 1; i < n; i++) x += `${String(offsets[i]).padStart(10, '0')} 00000 n \n`;
  push(x);
  push(`trailer\n<< /Size ${n} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`);
  return Buffer.concat(parts);
}

/** `depth` nested <div>s around one sentence: a few KB of HTML. */
const nestedHtml = (depth: number) =>
  `<html><body>${'<div>'.repeat(depth)}Returns are accepted within 30 days.${'</div>'.repeat(depth)}</body></html>`;

type EmbedMode = 'ok' | 'wrong-count' | 'strings' | 'too-many-dims' | 'echo-error';

/** An OpenAI-compatible provider on `localhost`: chat answers "Answer N"; embeddings by `mode`. */
async function startProvider() {
  const state = {
    mode: 'ok' as EmbedMode,
    embedInputs: [] as string[][],
    chats: 0,
  };
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => {
      raw += c;
    });
    req.on('end', () => {
      const body = JSON.parse(raw) as { input?: string | string[]; dimensions?: number };
      const json = (status: number, v: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(v));
      };
      if (req.url === '/v1/embeddings') {
        const input = typeof body.input === 'string' ? [body.input] : (body.input ?? []);
        state.embedInputs.push(input);
        const dims = state.mode === 'too-many-dims' ? 3000 : (body.dimensions ?? DIMS);
        const vec = (i: number) => Array.from({ length: dims }, (_, d) => ((d * 7 + i) % 5) - 2 || 1);
        switch (state.mode) {
          case 'wrong-count':
            return json(200, { object: 'list', data: [{ index: 0, embedding: vec(0) }] });
          case 'strings':
            return json(200, {
              object: 'list',
              data: input.map((_, index) => ({ index, embedding: vec(index).map(String) })),
            });
          case 'echo-error':
            // A provider error that quotes what it was sent (the key and the text), as some do.
            return json(400, {
              error: { message: `bad request with key ${req.headers.authorization} for ${input[0]}` },
            });
          default:
            return json(200, {
              object: 'list',
              data: input.map((_, index) => ({ object: 'embedding', index, embedding: vec(index) })),
              model: 'embed-model',
            });
        }
      }
      state.chats++;
      return json(200, {
        id: 'c',
        object: 'chat.completion',
        created: 1,
        model: 'chat-model',
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: `Answer ${state.chats}` },
            finish_reason: 'stop',
          },
        ],
        usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, 'localhost', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    state,
    origin: `http://localhost:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The web site URL ingests fetch from, on `localhost`. */
async function startSite() {
  const nulTitlePdf = await textPdf([['Warranty: every pair has two years of warranty.']], 'War\u0000ranty');
  const okPdf = await textPdf([['Warranty: every pair has two years of warranty.']], 'Warranty');
  let port = 0;
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const send = (type: string, body: string | Buffer) => {
      res.writeHead(200, { 'content-type': type });
      res.end(body);
    };
    switch (url.pathname) {
      case '/nul-title.html':
        return send(
          'text/html; charset=utf-8',
          `<html><head><title>Returns\u0000policy</title></head><body><p>${'You can return shoes within 30 days. '.repeat(10)}</p></body></html>`,
        );
      case '/nul-title.pdf':
        return send('application/pdf', nulTitlePdf);
      case '/ok.html':
        return send(
          'text/html',
          `<html><body><p>${'Boots are waterproof for two winters. '.repeat(8)}</p></body></html>`,
        );
      case '/pdf-as-html':
        return send('text/html', okPdf);
      case '/html-as-pdf':
        return send('application/pdf', '<html><body><p>Not a PDF at all</p></body></html>');
      case '/utf16':
        return send(
          'text/html; charset=utf-16le',
          '<html><body><p>Returns within thirty days.</p></body></html>',
        );
      case '/redirect': {
        res.writeHead(302, { location: (url.searchParams.get('to') ?? '/').replace('PORT', String(port)) });
        return res.end();
      }
      default:
        res.writeHead(404, { 'content-type': 'text/html' });
        return res.end('<p>nope</p>');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, 'localhost', resolve));
  port = (server.address() as AddressInfo).port;
  return {
    origin: `http://localhost:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('extraction bombs (pure functions)', () => {
  // Found in review (high): Readability is super-linear in nesting depth (500 nested <div>s, 6 KB: ~2 s; 2,000:
  // ~50 s) and pdf.js re-reads a compressed content stream every page shares (a 12 KB PDF blocked ~4 s, 1,000
  // pages minutes), both on the event loop. Fixed by running extraction in a worker thread with a deadline and a
  // heap cap (extract-run.ts): the pure functions stay slow on such input, the server does not wait for them.
  const loopStaysFree = async (work: () => Promise<unknown>) => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 10);
    const t = performance.now();
    const outcome = await work().then(
      () => 'stored',
      (err: unknown) => (err as { code?: string }).code ?? 'error',
    );
    clearInterval(timer);
    const ms = performance.now() - t;
    return { outcome, ms, ticks };
  };

  it('a deeply nested page is refused at the deadline, and the event loop runs meanwhile', {
    timeout: 30_000,
  }, async () => {
    const r = await loopStaysFree(() =>
      extractDocument({ format: 'html', text: nestedHtml(2_000) }, 1_048_576, 1_500),
    );
    expect(r.outcome).toBe('invalid_document');
    expect(r.ms).toBeLessThan(6_000);
    // A blocked loop ticks never; a free one about every 10 ms (loose: the machine may be loaded).
    expect(r.ticks).toBeGreaterThan(r.ms / 100);
  });

  it('a tiny PDF whose pages share a huge content stream is refused at the deadline, loop free', {
    timeout: 30_000,
  }, async () => {
    const pdf = sharedStreamPdf(200, Buffer.from('0 0 m 1 1 l S\n'.repeat(200_000)));
    expect(pdf.length).toBeLessThan(60_000);
    const r = await loopStaysFree(() => extractDocument({ format: 'pdf', bytes: pdf }, 1_048_576, 1_500));
    expect(['invalid_document', 'payload_too_large']).toContain(r.outcome);
    expect(r.ms).toBeLessThan(6_000);
    expect(r.ticks).toBeGreaterThan(r.ms / 100);
  });

  it('the pure functions are still slow on that input (so the tests above exercise the deadline)', {
    timeout: 30_000,
  }, () => {
    const t = performance.now();
    try {
      extractHtml(nestedHtml(500), 1_048_576);
    } catch {
      // a refusal is fine
    }
    expect(performance.now() - t).toBeGreaterThan(200);
  });

  it(// BUG (medium): the <title> is prepended to the markdown after control characters were stripped from the
  // blocks (extract.ts extractHtml, `markdown = # ${title}`), so a NUL in a fetched page's title reaches
  // widget_chunks.content, which PostgreSQL text cannot hold: the ingest answers 500 (see the HTTP test below).
  'strips control characters (NUL) from the title it puts in the text', () => {
    const x = extractHtml(
      `<html><head><title>Returns\u0000policy</title></head><body><p>${'Shoes come back within 30 days. '.repeat(5)}</p></body></html>`,
      100_000,
    );
    expect(x.text).not.toContain('\u0000');
    expect(x.title ?? '').not.toContain('\u0000');
  });
});

describe('widget attack (pglite)', () => {
  let srv: Srv;
  let provider: Awaited<ReturnType<typeof startProvider>>;
  let site: Awaited<ReturnType<typeof startSite>>;
  let owner: Account;
  let other: Account;
  let widgetId: string;
  let widgetB: string;
  let otherWidgetId: string;
  const as = (acc: Account) => api(srv.baseUrl, acc.token);
  const w = (acc: Account, id: string, rest = '') => `/api/orgs/${acc.orgId}/widgets/${id}${rest}`;

  const orgWithWidgets = async (n: number, redact: boolean) => {
    const acc = await signup(srv.baseUrl);
    const p = await as(acc).put(`/api/orgs/${acc.orgId}/providers/stub`, {
      baseUrl: `${provider.origin}/v1`,
      apiKey: PROVIDER_KEY,
      models: [
        'chat-model',
        'embed-model',
        'embed-model-wrong-count',
        'embed-model-strings',
        'embed-model-too-many-dims',
      ],
    });
    expect(p.status, p.text).toBe(200);
    const s = await as(acc).patch(`/api/orgs/${acc.orgId}/settings`, { piiRedaction: redact });
    expect(s.status, s.text).toBe(200);
    // A paid plan: more than one widget.
    await srv.rampart.services.db.org(acc.orgId, (q) =>
      q.query(
        `INSERT INTO org_billing (org_id, plan) VALUES ($1, 'business')
         ON CONFLICT (org_id) DO UPDATE SET plan = 'business'`,
        [acc.orgId],
      ),
    );
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const r = await as(acc).post<{ id: string }>(`/api/orgs/${acc.orgId}/widgets`, {
        name: `help ${i}`,
        allowedOrigins: [SHOP],
        model: 'chat-model',
      });
      expect(r.status, r.text).toBe(201);
      ids.push(r.body.id);
    }
    return { acc, ids };
  };

  beforeAll(async () => {
    provider = await startProvider();
    site = await startSite();
    srv = await startTestServer('pglite', {
      RAMPART_OUTBOUND_ALLOW: 'localhost',
      RAMPART_TRUST_PROXY: '127.0.0.1',
      RAMPART_WIDGET_DOCUMENT_MAX_BYTES: '200000',
      RAMPART_WIDGET_EMBED_POLL_MS: '50',
    });
    let ids: string[];
    ({ acc: owner, ids } = await orgWithWidgets(2, false));
    [widgetId = '', widgetB = ''] = ids;
    ({ acc: other, ids } = await orgWithWidgets(1, true));
    [otherWidgetId = ''] = ids;
  }, 60_000);
  afterAll(async () => {
    await srv?.close();
    await provider?.close();
    await site?.close();
  });

  const fromUrl = (url: string, name?: string) =>
    as(owner).post<Err & { name: string }>(w(owner, widgetId, '/documents/from-url'), {
      url,
      ...(name ? { name } : {}),
    });

  it(// BUG (medium): a page whose <title> holds a NUL byte, ingested by URL without a name, answers 500
  // internal_error (PostgreSQL refuses the NUL in the chunk text and in widget_documents.name), with an
  // "unhandled error" logged. Expected: 201 with the NUL stripped, or a documented 4xx.
  'a fetched page with a NUL in its <title> is not a 500', async () => {
    const r = await fromUrl(`${site.origin}/nul-title.html`);
    expect(r.status, r.text).not.toBe(500);
  });

  it(// BUG (medium): the same through a PDF's /Title metadata (extractPdf keeps it as the default name without
  // removing control characters): POST …/documents/from-url without `name` answers 500.
  'a fetched PDF with a NUL in its /Title is not a 500', async () => {
    const r = await fromUrl(`${site.origin}/nul-title.pdf`);
    expect(r.status, r.text).not.toBe(500);
  });

  it(// BUG (medium, predates this change but the message path was rewritten by it): a visitor message containing
  // U+0000 (valid JSON, accepted by the zod schema) reaches PostgreSQL in retrieval's to_tsvector and fails:
  // the public POST /widget/:id/messages answers 500 internal_error for a client mistake. The document routes
  // refuse NUL with validation_failed; the message route should too (or strip it).
  'a visitor message with a NUL is refused as a client mistake, not a 500', async () => {
    const v = visitor(srv.baseUrl, widgetId, SHOP);
    const { visitorToken } = (await v.session()).body;
    const r = await v.message(visitorToken, 'Can I return\u0000 shoes?');
    expect(r.status, r.text).not.toBe(500);
  });

  // Found in review (high on PGlite): PGlite's errors carry the failed statement's `query` and `params`, which the
  // error serializer logged (a visitor's plaintext question in the log). The engine now strips them and the
  // serializer drops them too.
  it('a statement that fails in the database leaves its parameters out of the error and the logs', async () => {
    const marker = `PARAMMARK${Date.now()}Q`;
    const db = srv.rampart.services.db;
    const err = await db
      .org(owner.orgId, (q) => q.query('SELECT $1::int AS n', [marker]))
      .then(
        () => null,
        (e: unknown) => e as Record<string, unknown>,
      );
    expect(err).not.toBeNull();
    expect(JSON.stringify(err)).not.toContain(marker);
    expect(err?.params).toBeUndefined();
    srv.rampart.app.log.error(
      { err: Object.assign(new Error('boom'), { params: [marker], query: marker }) },
      'x',
    );
    expect(srv.logs.join('\n')).not.toContain(marker);
  });

  // BUG (low): NUL in the new string fields reaches PostgreSQL: a document `name` (text, markdown, HTML, PDF and
  // from-url bodies) and the widget's `embeddingModel` answer 500 internal_error (zod lets U+0000 through; only
  // document `content` is checked). Expected: 400 validation_failed.
  it('a NUL in a document name or an embedding model name is a 400, not a 500', async () => {
    const statuses: number[] = [];
    const r1 = await as(owner).post(w(owner, widgetId, '/documents'), {
      name: 'a\u0000b',
      content: 'hello there',
    });
    statuses.push(r1.status);
    const r2 = await as(owner).post(w(owner, widgetId, '/documents/from-url'), {
      url: `${site.origin}/ok.html`,
      name: 'a\u0000b',
    });
    statuses.push(r2.status);
    const r3 = await as(owner).patch(w(owner, widgetId), { embeddingModel: 'embed\u0000model' });
    statuses.push(r3.status);
    expect(statuses).toEqual([400, 400, 400]);
  });

  it('content-type tricks: a PDF served as text/html and HTML served as application/pdf are 4xx or stored, never 500', async () => {
    const a = await fromUrl(`${site.origin}/pdf-as-html`, 'pdf as html');
    expect(a.status, a.text).not.toBe(500);
    const b = await fromUrl(`${site.origin}/html-as-pdf`, 'html as pdf');
    expect([b.status, b.body.error]).toEqual([422, 'invalid_document']);
    const c = await fromUrl(`${site.origin}/utf16`, 'utf16');
    expect(c.status, c.text).not.toBe(500);
  });

  it('SSRF: every redirect to loopback, private or metadata addresses (any spelling) is refused', async () => {
    for (const to of [
      'http://127.0.0.1:PORT/utf16',
      'http://[::1]:PORT/utf16',
      'http://[::ffff:127.0.0.1]:PORT/utf16',
      'http://[::ffff:7f00:1]:PORT/utf16',
      'http://2130706433:PORT/utf16',
      'http://0x7f.1:PORT/utf16',
      'http://0177.0.0.1:PORT/utf16',
      'http://0.0.0.0:PORT/utf16',
      'http://169.254.169.254/latest/meta-data/',
      'http://[fd00:ec2::254]/latest/meta-data/',
      'http://10.0.0.1/',
      'http://100.100.100.200/',
      'http://[64:ff9b::7f00:1]:PORT/',
      'http://[2002:7f00:1::]:PORT/',
    ]) {
      const r = await fromUrl(`${site.origin}/redirect?to=${encodeURIComponent(to)}`, 'ssrf');
      expect([r.status, r.body.error], to).toEqual([400, 'validation_failed']);
      // The same address given directly.
      const d = await fromUrl(to.replace('PORT', String(site.port)), 'ssrf');
      expect([d.status, d.body.error], `direct ${to}`).toEqual([400, 'validation_failed']);
    }
    for (const url of [
      `http://user:pass@localhost:${site.port}/utf16`,
      `file:///etc/passwd`,
      `gopher://localhost:${site.port}/`,
      `http://localhost:${site.port}/utf16#frag`,
    ]) {
      const r = await fromUrl(url, 'odd');
      expect([r.status, r.body.error], url).toEqual([400, 'validation_failed']);
    }
    // A redirect to a non-http scheme is a 502, not a 500.
    const f = await fromUrl(`${site.origin}/redirect?to=${encodeURIComponent('file:///etc/passwd')}`, 'f');
    expect(f.status, f.text).not.toBe(500);
    expect(f.status).toBeGreaterThanOrEqual(400);
  });

  it('client mistakes on the document routes are 4xx: bad base64, wrong shape, oversize, absent fields', async () => {
    const docs = w(owner, widgetId, '/documents');
    for (const body of [
      { name: 'x', format: 'pdf', contentBase64: '%%%not base64%%%' },
      { name: 'x', format: 'pdf', content: 'text in a pdf' },
      { name: 'x', format: 'pdf' },
      { name: 'x', format: 'text', contentBase64: 'aGVsbG8=' },
      { name: 'x', format: 'docx', content: 'hello' },
      { name: '', content: 'hello' },
      { name: 'x', format: 'pdf', contentBase64: Buffer.from('hello, not a pdf').toString('base64') },
      { name: 'x', format: 'pdf', contentBase64: Buffer.from('%PDF-1.7\n garbage').toString('base64') },
      { name: 'x', format: 'html', content: '<html><body></body></html>' },
      { name: 'x', format: 'pdf', contentBase64: Buffer.alloc(200_001, 0x41).toString('base64') },
    ]) {
      const r = await as(owner).post<Err>(docs, body);
      expect(r.status, `${JSON.stringify(body).slice(0, 80)} ${r.text}`).toBeGreaterThanOrEqual(400);
      expect(r.status, r.text).toBeLessThan(500);
      expect(r.text).not.toMatch(/at .*\.(ts|js):\d+/);
    }
    const u = w(owner, widgetId, '/documents/from-url');
    for (const body of [{}, { url: '' }, { url: 'not a url' }, { url: 'x'.repeat(3000) }, { url: 5 }]) {
      const r = await as(owner).post<Err>(u, body);
      expect(r.status, r.text).toBe(400);
    }
  });

  it('paging: a garbage cursor is a 400, another widget’s or org’s cursor reveals nothing of theirs', async () => {
    for (const path of ['/conversations', '/unanswered']) {
      for (const cursor of ['%%%', 'AAAA', Buffer.from('2026-01-01T00:00:00.000Z|x').toString('base64url')]) {
        const r = await as(owner).get<Err>(
          w(owner, widgetId, `${path}?cursor=${encodeURIComponent(cursor)}`),
        );
        expect([r.status, r.body.error], `${path} ${cursor}`).toEqual([400, 'validation_failed']);
      }
      for (const q of ['limit=0', 'limit=101', 'limit=abc', 'extra=1']) {
        const r = await as(owner).get<Err>(w(owner, widgetId, `${path}?${q}`));
        expect(r.status, `${path}?${q} ${r.text}`).toBe(400);
      }
    }
    // The other org's visitor asks something; a cursor from their listing, replayed on ours, shows only ours.
    const v = visitor(srv.baseUrl, otherWidgetId, SHOP);
    const { visitorToken } = (await v.session()).body;
    expect((await v.message(visitorToken, 'THEIRSECRET zebra question')).status).toBe(200);
    // A cursor is (microseconds since the epoch | id): one far in the future would list everything before it.
    const far = Buffer.from(`${Date.UTC(2999, 0, 1) * 1000}|ffffffff-ffff-4fff-bfff-ffffffffffff`).toString(
      'base64url',
    );
    const un = await as(owner).get(w(owner, widgetId, `/unanswered?cursor=${far}`));
    expect(un.status, un.text).toBe(200);
    expect(un.text).not.toContain('THEIRSECRET');
    const un2 = await as(owner).get(w(owner, widgetB, `/unanswered?cursor=${far}`));
    expect(un2.text).not.toContain('THEIRSECRET');
  });

  it('a visitor token of widget A cannot delete anything on widget B; a thread of widget A is 404 under widget B', async () => {
    const a = visitor(srv.baseUrl, widgetId, SHOP);
    const { visitorToken: tokenA } = (await a.session()).body;
    expect((await a.message(tokenA, 'Do you ship to Mars?')).status).toBe(200);
    // The same token against widget B (same org, same origin allowed).
    const del = await api(srv.baseUrl, tokenA).request<Err>(
      'DELETE',
      `/widget/${widgetB}/conversation`,
      undefined,
      { origin: SHOP, 'x-forwarded-for': '198.51.100.9' },
    );
    expect([del.status, del.body.error]).toEqual([401, 'unauthorized']);
    // Without an Origin, or from another site: refused before the token is looked at.
    for (const headers of [{}, { origin: 'https://evil.example' }]) {
      const r = await api(srv.baseUrl, tokenA).request<Err>(
        'DELETE',
        `/widget/${widgetId}/conversation`,
        undefined,
        headers,
      );
      expect([r.status, r.body.error]).toEqual([403, 'origin_not_allowed']);
    }
    const list = await as(owner).get<{ conversations: Array<{ id: string }> }>(
      w(owner, widgetId, '/conversations'),
    );
    const conv = list.body.conversations[0]?.id ?? '';
    expect(conv).not.toBe('');
    for (const method of ['GET', 'DELETE'] as const) {
      const r = await as(owner).request<Err>(method, w(owner, widgetB, `/conversations/${conv}`));
      expect([r.status, r.body.error], method).toEqual([404, 'not_found']);
    }
    // Other org's token on the public delete of our widget: refused (its token names their widget).
    const o = visitor(srv.baseUrl, otherWidgetId, SHOP);
    const { visitorToken: tokenO } = (await o.session()).body;
    const cross = await api(srv.baseUrl, tokenO).request<Err>(
      'DELETE',
      `/widget/${widgetId}/conversation`,
      undefined,
      {
        origin: SHOP,
        'x-forwarded-for': '198.51.100.9',
      },
    );
    expect(cross.status).toBe(401);
    const still = await as(owner).get(w(owner, widgetId, `/conversations/${conv}`));
    expect(still.status).toBe(200);
  });

  it(// BUG (low): the keyset cursor keeps milliseconds (JS Date) of a microsecond timestamptz
  // (conversations.ts cursorOf / parseCursor). A row that follows the page's last row within the same
  // millisecond compares greater than the truncated cursor and is skipped: listings lose conversations and
  // unanswered questions under load. Expected: the cursor keeps full precision (e.g. the timestamp as text
  // from SQL, or epoch microseconds).
  'paging never skips a row whose timestamp shares the millisecond of the page’s last row', async () => {
    const v1 = visitor(srv.baseUrl, widgetB, SHOP, '198.51.100.21');
    const v2 = visitor(srv.baseUrl, widgetB, SHOP, '198.51.100.22');
    const t1 = (await v1.session()).body.visitorToken;
    const t2 = (await v2.session()).body.visitorToken;
    expect((await v1.message(t1, 'platypus one?')).status).toBe(200);
    expect((await v2.message(t2, 'platypus two?')).status).toBe(200);
    const db = srv.rampart.services.db;
    // Two conversations 100 µs apart within one millisecond (as two visitors writing at once get).
    await db.org(owner.orgId, async (q) => {
      const { rows } = await q.query<{ id: string }>(
        'SELECT id FROM widget_conversations WHERE widget_id = $1 ORDER BY id',
        [widgetB],
      );
      expect(rows).toHaveLength(2);
      await q.query(
        `UPDATE widget_conversations SET last_message_at = '2026-06-01T10:00:00.000600Z' WHERE id = $1`,
        [rows[0]?.id],
      );
      await q.query(
        `UPDATE widget_conversations SET last_message_at = '2026-06-01T10:00:00.000500Z' WHERE id = $1`,
        [rows[1]?.id],
      );
    });
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let i = 0; i < 3; i++) {
      const r: {
        status: number;
        text: string;
        body: { conversations: Array<{ id: string }>; nextCursor: string | null };
      } = await as(owner).get(
        w(owner, widgetB, `/conversations?limit=1${cursor ? `&cursor=${cursor}` : ''}`),
      );
      expect(r.status, r.text).toBe(200);
      seen.push(...r.body.conversations.map((c) => c.id));
      cursor = r.body.nextCursor;
      if (!cursor) break;
    }
    expect(seen).toHaveLength(2);
  });

  it('embedding failures: no provider key and no chunk text in lastError or the logs; odd answers are refused', async () => {
    const marker = `CHUNKMARK${Date.now()}Z`;
    const doc = await as(owner).post(w(owner, widgetB, '/documents'), {
      name: 'secret.md',
      // Three chunks, so a provider answering one vector is a count mismatch.
      content: [1, 2, 3]
        .map((i) => `## Part ${i}\n\nThe warranty code is ${marker}. ${'Shoes are covered. '.repeat(60)}`)
        .join('\n\n'),
    });
    expect(doc.status, doc.text).toBe(201);
    const status = () =>
      as(owner).get<{ total: number; embedded: number; failing: number; lastError: string | null }>(
        w(owner, widgetB, '/embeddings'),
      );
    let previous: string | null = null;
    for (const mode of ['echo-error', 'wrong-count', 'strings', 'too-many-dims'] as const) {
      provider.state.mode = mode;
      const before = provider.state.embedInputs.length;
      // The model change makes every chunk due at once.
      const p = await as(owner).patch(w(owner, widgetB), {
        embeddingModel: mode === 'echo-error' ? 'embed-model' : `embed-model-${mode}`,
      });
      expect(p.status, p.text).toBe(200);
      await as(owner).post(w(owner, widgetB, '/embeddings/retry'), {});
      let s = await status();
      for (
        let i = 0;
        i < 100 &&
        (provider.state.embedInputs.length === before || !s.body.lastError || s.body.lastError === previous);
        i++
      ) {
        await new Promise((r) => setTimeout(r, 50));
        s = await status();
      }
      expect(s.body.lastError, mode).toBeTruthy();
      expect(s.body.lastError, mode).not.toBe(previous);
      previous = s.body.lastError;
      expect(s.body.embedded, mode).toBe(0);
      expect(s.body.lastError).not.toContain(PROVIDER_KEY);
      expect(s.body.lastError).not.toContain(marker);
    }
    const logs = srv.logs.join('\n');
    expect(logs).not.toContain(PROVIDER_KEY);
    expect(logs).not.toContain(marker);
    expect(await tablesContaining(srv.rampart.services.db, PROVIDER_KEY)).toEqual([]);
    provider.state.mode = 'ok';
  });

  it('a redacting org: chunks and questions are embedded redacted, and its vectors never reach another org', async () => {
    provider.state.mode = 'ok';
    const p = await as(other).patch(w(other, otherWidgetId), { embeddingModel: 'embed-model' });
    expect(p.status, p.text).toBe(200);
    const doc = await as(other).post(w(other, otherWidgetId, '/documents'), {
      name: 'pii.md',
      content: 'Write to jane.roe@example.org about the walrus warranty.',
    });
    expect(doc.status, doc.text).toBe(201);
    for (let i = 0; i < 100; i++) {
      const s = await as(other).get<{ total: number; embedded: number }>(
        w(other, otherWidgetId, '/embeddings'),
      );
      if (s.body.total > 0 && s.body.embedded === s.body.total) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const v = visitor(srv.baseUrl, otherWidgetId, SHOP);
    const { visitorToken } = (await v.session()).body;
    expect((await v.message(visitorToken, 'I am bob.smith@example.net, walrus warranty?')).status).toBe(200);
    const sent = provider.state.embedInputs.flat().join('\n');
    expect(sent).toContain('walrus');
    expect(sent).not.toContain('jane.roe@example.org');
    expect(sent).not.toContain('bob.smith@example.net');
  });
});
