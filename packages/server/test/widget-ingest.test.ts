/**
 * Widget documents beyond text (issue 25, part 2): PDFs by upload (text layer extracted with unpdf; scanned,
 * password-protected, damaged and over-size files refused with their own codes) and web pages by upload or by
 * URL (fetched through the outbound guard, boilerplate removed by Readability, headings kept as markdown). Pages
 * are served by a local HTTP server on `localhost`, the one host RAMPART_OUTBOUND_ALLOW lets through, so the
 * guard still refuses 127.0.0.1 written as an address and every other private address. PDFs are real files
 * built by pdf-lib, and the encrypted one by hand with the standard security handler (pdf-fixtures.ts).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Account, api, signup } from '@rampart/testing';
import { getDocumentProxy } from 'unpdf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { guardedAgent } from '../src/platform/outbound/dispatcher.js';
import { parsePolicy } from '../src/platform/outbound/policy.js';
import { extractHtml, extractPdf } from '../src/widget/extract.js';
import { fetchSource } from '../src/widget/fetch-source.js';
import { ENGINES, startTestServer } from './helpers.js';
import { encryptedPdf, imagePdf, png, textPdf } from './pdf-fixtures.js';

type Srv = Awaited<ReturnType<typeof startTestServer>>;
type Err = { error: string; message: string };
interface Doc {
  id: string;
  name: string;
  format: string;
  bytes: number;
  chunks: number;
  sourceUrl: string | null;
}

const MAX = 200_000;
const ENV = { RAMPART_OUTBOUND_ALLOW: 'localhost', RAMPART_WIDGET_DOCUMENT_MAX_BYTES: String(MAX) };

/** A help-centre page as sites serve them: head scripts, navigation, an article, a sidebar, a footer. */
const ARTICLE_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Returns and exchanges | Shoe Shop</title>
<script>window.tracker = 'TRACKER_SCRIPT_TEXT';</script><style>body { color: red } .STYLE_TEXT {}</style></head>
<body>
<header><nav><a href="/">Home</a> <a href="/men">Men NAVLINK</a> <a href="/women">Women NAVLINK</a></nav></header>
<main><article>
<h1>Returns and exchanges</h1>
<p>You can return unworn shoes within 30 days of delivery with the receipt. ${'Refunds go back to the card you paid with, within five business days of the parcel reaching our warehouse. '.repeat(3)}</p>
<h2>Exchanges</h2>
<p>Exchanges for another size are free. ${'Print the prepaid label from your account page and drop the box at any post office. '.repeat(3)}</p>
<ul><li>Sandals can be exchanged within 14 days.</li><li>Sale items are final.</li></ul>
<h2>Damaged parcels</h2>
<p>${'If the box arrived damaged, send us a photo within 48 hours and we will ship a replacement at once. '.repeat(3)}</p>
</article>
<aside><h3>Popular</h3><p>SIDEBAR_PROMO Our new running shoes are here!</p></aside></main>
<footer><p>Copyright 2026 Shoe Shop FOOTER_TEXT. All rights reserved.</p></footer>
<script>console.log('INLINE_SCRIPT_TEXT')</script>
</body></html>`;
const BOILERPLATE = [
  'TRACKER_SCRIPT_TEXT',
  'STYLE_TEXT',
  'NAVLINK',
  'SIDEBAR_PROMO',
  'FOOTER_TEXT',
  'INLINE_SCRIPT_TEXT',
];

interface Site {
  origin: string;
  /** The same server by address, which the guard refuses (only the name `localhost` is allowed). */
  loopback: string;
  hits: string[];
  pdf: Buffer;
  close(): Promise<void>;
}

/** The local web site the URL ingests fetch from. */
async function startSite(): Promise<Site> {
  const hits: string[] = [];
  const pdf = await textPdf(
    [['Warranty', 'Every pair carries a two year warranty against defects.']],
    'Warranty',
  );
  let port = 0;
  const server: Server = createServer((req, res) => {
    const path = req.url ?? '/';
    hits.push(path);
    const redirect = /^\/hop\/(\d+)$/.exec(path);
    if (redirect) {
      const n = Number(redirect[1]);
      res.writeHead(302, { location: n > 0 ? `/hop/${n - 1}` : '/article.html' });
      return res.end();
    }
    switch (path) {
      case '/article.html':
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        return res.end(ARTICLE_PAGE);
      case '/latin1.html':
        res.writeHead(200, { 'content-type': 'text/html; charset=iso-8859-1' });
        return res.end(
          Buffer.from(
            '<html><head><title>Caf\u00e9</title></head><body><p>Cr\u00e8me br\u00fbl\u00e9e every Sunday.</p></body></html>',
            'latin1',
          ),
        );
      case '/warranty.pdf':
        res.writeHead(200, { 'content-type': 'application/pdf' });
        return res.end(pdf);
      case '/to-loopback':
        res.writeHead(302, { location: `http://127.0.0.1:${port}/article.html` });
        return res.end();
      case '/big.html':
        res.writeHead(200, { 'content-type': 'text/html' });
        return res.end(`<html><body><p>${'x'.repeat(MAX + 10)}</p></body></html>`);
      case '/slow':
        res.writeHead(200, { 'content-type': 'text/html' });
        res.write('<html><body><p>Loading');
        return; // the rest never comes
      case '/data.json':
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end('{"returns": "30 days"}');
      default:
        res.writeHead(404, { 'content-type': 'text/html' });
        return res.end('<html><body><p>Not found</p></body></html>');
    }
  });
  // On the name: the guard lets `localhost` through by name, and connects to the address the name resolves to.
  await new Promise<void>((resolve) => server.listen(0, 'localhost', resolve));
  port = (server.address() as AddressInfo).port;
  return {
    origin: `http://localhost:${port}`,
    loopback: `http://127.0.0.1:${port}`,
    hits,
    pdf,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('extraction (pure functions)', () => {
  it('stops reading a PDF whose text passes the cap, and refuses it as too large', async () => {
    const page = (p: number) =>
      Array.from({ length: 20 }, (_, i) => `Page ${p}, line ${i}: the quick brown fox.`);
    const pdf = await textPdf(Array.from({ length: 6 }, (_, p) => page(p)));
    const ok = await extractPdf(pdf, 10_000);
    expect(ok.pages).toBe(6);
    expect(ok.text.split('\n\n')).toHaveLength(6);
    await expect(extractPdf(pdf, 1_000)).rejects.toMatchObject({ code: 'payload_too_large' });
  });

  it('keeps headings and list items of the article as markdown, and nothing of the page furniture', () => {
    const x = extractHtml(ARTICLE_PAGE, MAX);
    expect(x.chunkFormat).toBe('markdown');
    expect(x.title).toBe('Returns and exchanges | Shoe Shop');
    expect(x.text).toMatch(/^# Returns and exchanges/);
    expect(x.text).toContain('\n\n## Exchanges\n\n');
    expect(x.text).toContain('\n\n## Damaged parcels\n\n');
    expect(x.text).toContain('- Sandals can be exchanged within 14 days.');
    for (const b of BOILERPLATE) expect(x.text).not.toContain(b);
  });

  it('reads the body of a page Readability finds no article in, without its navigation', () => {
    const x = extractHtml(
      '<html><body><nav>Menu NAVLINK</nav><h2>Opening hours</h2><p>Monday to Friday, 9 to 5.</p><footer>FOOTER_TEXT</footer></body></html>',
      MAX,
    );
    expect(x.text).toBe('## Opening hours\n\nMonday to Friday, 9 to 5.');
  });

  it('refuses a page with no readable text', () => {
    expect(() => extractHtml('<html><body><script>var a = 1;</script></body></html>', MAX)).toThrow(
      expect.objectContaining({ code: 'invalid_document' }),
    );
  });

  it('the encrypted fixture is a genuine password-protected PDF: it opens with its password', async () => {
    const pdf = encryptedPdf('Payroll figures for March', 'correct horse');
    const doc = await getDocumentProxy(new Uint8Array(pdf), { password: 'correct horse', verbosity: 0 });
    const items = (await (await doc.getPage(1)).getTextContent()).items;
    expect(items.map((i: unknown) => (i as { str?: string }).str ?? '')).toContain(
      'Payroll figures for March',
    );
    await expect(extractPdf(pdf, MAX)).rejects.toMatchObject({ code: 'pdf_encrypted' });
    // Owner restrictions only (no user password): anyone can open it, so it is read.
    expect((await extractPdf(encryptedPdf('Open to all', ''), MAX)).text).toBe('Open to all');
  });
});

describe('widget document ingestion over HTTP', () => {
  let srv: Srv;
  let site: Site;
  let owner: Account;
  let other: Account;
  let widgetId: string;
  let otherWidgetId: string;
  const docs = (acc: Account = owner, w = widgetId) => `/api/orgs/${acc.orgId}/widgets/${w}/documents`;
  const a = (acc: Account = owner) => api(srv.baseUrl, acc.token);
  const newWidget = async (acc: Account) => {
    const r = await a(acc).post<{ id: string }>(`/api/orgs/${acc.orgId}/widgets`, {
      name: 'help',
      allowedOrigins: ['https://shop.example.com'],
      model: 'chat-model',
    });
    expect(r.status, r.text).toBe(201);
    return r.body.id;
  };
  const uploadPdf = (pdf: Buffer, name = 'file.pdf', acc: Account = owner, w = widgetId) =>
    a(acc).post<Doc & Err>(docs(acc, w), { name, format: 'pdf', contentBase64: pdf.toString('base64') });
  const fromUrl = (url: string, name?: string, acc: Account = owner, w = widgetId) =>
    a(acc).post<Doc & Err>(`${docs(acc, w)}/from-url`, { url, ...(name ? { name } : {}) });
  const chunksOf = (documentId: string, acc: Account = owner) =>
    srv.rampart.services.db.org(acc.orgId, async (q) =>
      (
        await q.query<{ content: string }>(
          'SELECT content FROM widget_chunks WHERE org_id = $1 AND document_id = $2 ORDER BY seq',
          [acc.orgId, documentId],
        )
      ).rows.map((r) => r.content),
    );
  const knowledgeBytes = async (acc: Account = owner) =>
    (await a(acc).get<{ usage: { knowledgeBytes: number } }>(`/api/orgs/${acc.orgId}/billing`)).body.usage
      .knowledgeBytes;

  beforeAll(async () => {
    site = await startSite();
    srv = await startTestServer('pglite', ENV);
    owner = await signup(srv.baseUrl);
    other = await signup(srv.baseUrl);
    widgetId = await newWidget(owner);
    otherWidgetId = await newWidget(other);
  }, 60_000);
  afterAll(async () => {
    await srv?.close();
    await site?.close();
  });

  describe('PDF upload', () => {
    it('stores a text PDF as its extracted text: bytes counted are the text, not the file', async () => {
      const before = await knowledgeBytes();
      const pdf = await textPdf([['Shipping', 'We ship to Canada and Mexico in five days.']]);
      const r = await uploadPdf(pdf, 'shipping.pdf');
      expect(r.status, r.text).toBe(201);
      expect(r.body).toMatchObject({ name: 'shipping.pdf', format: 'pdf', chunks: 1, sourceUrl: null });
      const text = 'Shipping\nWe ship to Canada and Mexico in five days.';
      expect(await chunksOf(r.body.id)).toEqual([text]);
      expect(r.body.bytes).toBe(Buffer.byteLength(text));
      expect(r.body.bytes).toBeLessThan(pdf.length);
      expect((await knowledgeBytes()) - before).toBe(r.body.bytes);
      const listed = await a().get<{ documents: Doc[] }>(docs());
      expect(listed.body.documents.find((d) => d.id === r.body.id)).toMatchObject({ format: 'pdf' });
    });

    it('reads every page of a multi-page PDF, one paragraph per page, and chunks it', async () => {
      const long = (p: number) =>
        Array.from(
          { length: 12 },
          (_, i) => `Page ${p} line ${i}: the quick brown fox jumps over the lazy dog.`,
        );
      const pdf = await textPdf([long(1), long(2), long(3), ['Last page: contact support@example.com']]);
      const r = await uploadPdf(pdf, 'manual.pdf');
      expect(r.status, r.text).toBe(201);
      const chunks = await chunksOf(r.body.id);
      expect(r.body.chunks).toBe(chunks.length);
      expect(chunks.length).toBeGreaterThanOrEqual(3);
      const all = chunks.join('\n\n');
      for (const p of [1, 2, 3]) expect(all).toContain(`Page ${p} line 11: the quick brown fox`);
      expect(all).toContain('Last page: contact support@example.com');
      for (const c of chunks) expect(c.length).toBeLessThanOrEqual(1_200);
    });

    it.each([
      ['an image-only (scanned) PDF', () => imagePdf(2), 'pdf_no_text'],
      ['a password-protected PDF', async () => encryptedPdf('Payroll figures', 'secret-pw'), 'pdf_encrypted'],
      ['garbage bytes', async () => Buffer.from('this is not a pdf at all, just words'), 'invalid_document'],
      ['a PDF cut in half', async () => (await textPdf([['Half']])).subarray(0, 300), 'invalid_document'],
    ])('refuses %s with 422 %s, and reserves nothing', async (_what, make, code) => {
      const before = await knowledgeBytes();
      const r = await uploadPdf(await make(), 'bad.pdf');
      expect(r.status, r.text).toBe(422);
      expect(r.body.error).toBe(code);
      expect(r.text).not.toMatch(/at .*\.(js|ts):\d+/);
      expect(await knowledgeBytes()).toBe(before);
    });

    it('refuses a PDF over RAMPART_WIDGET_DOCUMENT_MAX_BYTES with 413 payload_too_large', async () => {
      const pdf = await imagePdf(1, png(300, 300, true));
      expect(pdf.length).toBeGreaterThan(MAX);
      const r = await uploadPdf(pdf, 'huge.pdf');
      expect(r.status, r.text).toBe(413);
      expect(r.body.error).toBe('payload_too_large');
    });

    it('refuses a PDF sent as text, base64 for another format, or base64 that is not base64', async () => {
      for (const body of [
        { name: 'x.pdf', format: 'pdf', content: 'plain text' },
        { name: 'x.md', format: 'markdown', contentBase64: 'aGVsbG8=' },
        { name: 'x.pdf', format: 'pdf', contentBase64: 'not base64 at all!' },
      ]) {
        const r = await a().post<Err>(docs(), body);
        expect(r.status, r.text).toBe(400);
        expect(r.body.error).toBe('validation_failed');
      }
    });
  });

  describe('HTML', () => {
    it('an uploaded page keeps only its article, with headings as markdown chunk boundaries', async () => {
      const r = await a().post<Doc>(docs(), { name: 'returns.html', format: 'html', content: ARTICLE_PAGE });
      expect(r.status, r.text).toBe(201);
      expect(r.body).toMatchObject({ format: 'html', sourceUrl: null });
      const chunks = await chunksOf(r.body.id);
      const all = chunks.join('\n\n');
      expect(all).toContain('You can return unworn shoes within 30 days');
      for (const b of BOILERPLATE) expect(all).not.toContain(b);
      expect(chunks.some((c) => c.startsWith('## Exchanges'))).toBe(true);
      expect(chunks.some((c) => c.startsWith('## Damaged parcels'))).toBe(true);
      expect(r.body.bytes).toBe(Buffer.byteLength(extractHtml(ARTICLE_PAGE, MAX).text));
      expect(r.body.bytes).toBeLessThan(Buffer.byteLength(ARTICLE_PAGE));
    });

    it('fetches a page by URL through the guard and records where it came from', async () => {
      const url = `${site.origin}/article.html`;
      const r = await fromUrl(url);
      expect(r.status, r.text).toBe(201);
      expect(r.body).toMatchObject({
        name: 'Returns and exchanges | Shoe Shop',
        format: 'html',
        sourceUrl: url,
      });
      const all = (await chunksOf(r.body.id)).join('\n\n');
      expect(all).toContain('Exchanges for another size are free.');
      for (const b of BOILERPLATE) expect(all).not.toContain(b);
      const listed = await a().get<{ documents: Doc[] }>(docs());
      expect(listed.body.documents.find((d) => d.id === r.body.id)?.sourceUrl).toBe(url);
    });

    it('decodes a page by the charset its server declares', async () => {
      const r = await fromUrl(`${site.origin}/latin1.html`, 'cafe');
      expect(r.status, r.text).toBe(201);
      expect((await chunksOf(r.body.id)).join('\n')).toContain('Cr\u00e8me br\u00fbl\u00e9e every Sunday.');
    });

    it('a URL that serves a PDF is ingested as a PDF', async () => {
      const r = await fromUrl(`${site.origin}/warranty.pdf`);
      expect(r.status, r.text).toBe(201);
      expect(r.body).toMatchObject({ name: 'Warranty', format: 'pdf' });
      expect(await chunksOf(r.body.id)).toEqual([
        'Warranty\nEvery pair carries a two year warranty against defects.',
      ]);
    });

    it('follows up to 3 redirects and refuses a 4th with 502 bad_gateway', async () => {
      const ok = await fromUrl(`${site.origin}/hop/2`, 'three hops');
      expect(ok.status, ok.text).toBe(201);
      expect(ok.body.sourceUrl).toBe(`${site.origin}/hop/2`);
      const hits = site.hits.length;
      const far = await fromUrl(`${site.origin}/hop/3`, 'four hops');
      expect(far.status, far.text).toBe(502);
      expect(far.body.error).toBe('bad_gateway');
      expect(far.body.message).toContain('redirected more than 3 times');
      expect(site.hits.length - hits).toBe(4);
    });

    it.each([
      ['loopback by address', (s: Site) => `${s.loopback}/article.html`],
      ['a redirect to loopback', (s: Site) => `${s.origin}/to-loopback`],
      ['the cloud metadata address', () => 'http://169.254.169.254/latest/meta-data/'],
      ['a private network address', () => 'http://10.0.0.8/intranet.html'],
    ])('refuses %s: 400 validation_failed, the page is never read', async (_what, url) => {
      const before = site.hits.filter((h) => h === '/article.html').length;
      const r = await fromUrl(url(site), 'private');
      expect(r.status, r.text).toBe(400);
      expect(r.body.error).toBe('validation_failed');
      expect(r.body.message).toContain('non-public address');
      expect(site.hits.filter((h) => h === '/article.html').length).toBe(before);
    });

    it.each([
      ['a page over the size cap', '/big.html', 413, 'payload_too_large'],
      ['JSON', '/data.json', 415, 'unsupported_media_type'],
      ['a 404', '/missing', 502, 'bad_gateway'],
    ])('refuses %s (%s) with %i %s', async (_what, path, status, code) => {
      const r = await fromUrl(`${site.origin}${path}`, 'page');
      expect(r.status, r.text).toBe(status);
      expect(r.body.error).toBe(code);
    });

    it.each([
      ['not a URL', 'returns page'],
      ['another scheme', 'file:///etc/passwd'],
      ['credentials in the URL', 'http://user:pass@localhost/x'],
    ])('refuses %s with 400 validation_failed', async (_what, url) => {
      const r = await fromUrl(url);
      expect(r.status, r.text).toBe(400);
      expect(r.body.error).toBe('validation_failed');
    });
  });

  describe('tenancy', () => {
    it("another org's widget is 404 on a PDF upload, an HTML upload and a URL ingest, and nothing is fetched", async () => {
      const hits = site.hits.length;
      const pdf = await textPdf([['Planted']]);
      const attempts = [
        await uploadPdf(pdf, 'planted.pdf', owner, otherWidgetId),
        await a().post<Err>(docs(owner, otherWidgetId), {
          name: 'planted.html',
          format: 'html',
          content: ARTICLE_PAGE,
        }),
        await fromUrl(`${site.origin}/article.html`, 'planted', owner, otherWidgetId),
        // The other org's own path: the caller is no member there.
        await a(owner).post<Err>(`/api/orgs/${other.orgId}/widgets/${otherWidgetId}/documents/from-url`, {
          url: `${site.origin}/article.html`,
        }),
      ];
      for (const r of attempts) {
        expect(r.status, r.text).toBe(404);
        expect(r.body.error).toBe('not_found');
      }
      expect(site.hits.length).toBe(hits);
      const theirs = await a(other).get<{ documents: Doc[] }>(docs(other, otherWidgetId));
      expect(theirs.body.documents).toEqual([]);
    });
  });
});

describe('fetching a page (fetchSource)', () => {
  let site: Site;
  beforeAll(async () => {
    site = await startSite();
  });
  afterAll(async () => {
    await site?.close();
  });

  it('gives up on a page that stops sending, with 504 upstream_timeout', async () => {
    const policy = parsePolicy(['localhost']);
    const agent = guardedAgent({ policy });
    try {
      const started = Date.now();
      await expect(fetchSource(agent, policy, `${site.origin}/slow`, MAX, 300)).rejects.toMatchObject({
        code: 'upstream_timeout',
      });
      expect(Date.now() - started).toBeLessThan(5_000);
      // The same page served in full is taken: the refusal above is the deadline's.
      expect((await fetchSource(agent, policy, `${site.origin}/article.html`, MAX, 300)).kind).toBe('html');
    } finally {
      await agent.close();
    }
  });
});

// The column and constraint of migration 0031 on real PostgreSQL too (the suite above runs on PGlite).
describe.skipIf(!ENGINES.includes('postgres'))('stored format and source URL (postgres)', () => {
  let srv: Srv;
  let site: Site;
  beforeAll(async () => {
    site = await startSite();
    srv = await startTestServer('postgres', ENV);
  }, 60_000);
  afterAll(async () => {
    await srv?.close();
    await site?.close();
  });

  it('keeps format and sourceUrl through a list, and a delete gives the bytes back', async () => {
    const owner = await signup(srv.baseUrl);
    const a = api(srv.baseUrl, owner.token);
    const w = await a.post<{ id: string }>(`/api/orgs/${owner.orgId}/widgets`, {
      name: 'help',
      allowedOrigins: ['https://shop.example.com'],
      model: 'chat-model',
    });
    const base = `/api/orgs/${owner.orgId}/widgets/${w.body.id}/documents`;
    const page = await a.post<Doc>(`${base}/from-url`, {
      url: `${site.origin}/article.html`,
      name: 'returns',
    });
    expect(page.status, page.text).toBe(201);
    const pdf = await a.post<Doc>(base, {
      name: 'w.pdf',
      format: 'pdf',
      contentBase64: site.pdf.toString('base64'),
    });
    expect(pdf.status, pdf.text).toBe(201);
    const listed = await a.get<{ documents: Doc[] }>(base);
    expect(listed.body.documents.map((d) => [d.name, d.format, d.sourceUrl])).toEqual([
      ['returns', 'html', `${site.origin}/article.html`],
      ['w.pdf', 'pdf', null],
    ]);
    const usage = async () =>
      (await a.get<{ usage: { knowledgeBytes: number } }>(`/api/orgs/${owner.orgId}/billing`)).body.usage
        .knowledgeBytes;
    expect(await usage()).toBe(page.body.bytes + pdf.body.bytes);
    expect((await a.del(`${base}/${page.body.id}`)).status).toBe(200);
    expect(await usage()).toBe(pdf.body.bytes);
  });
});
