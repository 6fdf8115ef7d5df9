/**
 * Widget documents beyond text, in a real browser (Debian Chromium via playwright-core) against a real server on
 * PGlite: the owner signs in through the UI, opens the widget, and through the documents form
 * - uploads a PDF (sent as bytes, its text extracted on the server) and an HTML file (read as text, boilerplate
 *   dropped on the server), and sees both listed with their format and chunk counts;
 * - tries an image-only PDF and reads the server's clear refusal (pdf_no_text), with nothing added;
 * - adds a page by URL from a local site (on `localhost`, the one host RAMPART_OUTBOUND_ALLOW admits), listed
 *   with its address.
 * No console error, no CSP violation; the only failed requests are the refused PDF and the sign-in page's
 * resume attempt. Screenshots go to artifacts/dashboard/ingest-*.png.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Account, api, signup } from '@rampart/testing';
import { artifactPath, browserTestsEnabled, openWatchedPage, type Watched } from '@rampart/testing/browser';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer } from '../../server/test/helpers.js';
import { imagePdf, textPdf } from '../../server/test/pdf-fixtures.js';

type Srv = Awaited<ReturnType<typeof startTestServer>>;
interface Doc {
  id: string;
  name: string;
  format: string;
  chunks: number;
  sourceUrl: string | null;
}

const PAGE = `<!doctype html><html><head><title>Store hours</title><script>var t = 'TRACKER';</script></head>
<body><nav><a href="/">Home NAVLINK</a></nav><main><article><h1>Store hours</h1>
<p>${'The Main Street store opens at nine and closes at six, Monday to Saturday. '.repeat(4)}</p>
<h2>Holidays</h2><p>${'On public holidays the store opens at ten and closes at four. '.repeat(4)}</p>
</article></main><footer>FOOTER_TEXT</footer></body></html>`;

describe.skipIf(!browserTestsEnabled)('widget documents: PDF, HTML and URL ingestion (Chromium)', () => {
  let srv: Srv;
  let site: Server;
  let siteOrigin = '';
  let browser: Browser;
  let page: Page;
  let watched: Watched;
  let owner: Account;
  let widgetId = '';
  const shot = (name: string) =>
    page.screenshot({ path: artifactPath('dashboard', `ingest-${name}`), fullPage: true });
  const listed = async () =>
    (
      await api(srv.baseUrl, owner.token).get<{ documents: Doc[] }>(
        `/api/orgs/${owner.orgId}/widgets/${widgetId}/documents`,
      )
    ).body.documents;
  const detail = () => page.getByTestId('widget-detail');
  const row = (name: string) =>
    detail().getByTestId('documents-table').getByRole('row').filter({ hasText: name });

  beforeAll(async () => {
    site = createServer((req, res) => {
      res.writeHead(req.url === '/hours.html' ? 200 : 404, { 'content-type': 'text/html; charset=utf-8' });
      res.end(req.url === '/hours.html' ? PAGE : '<p>Not found</p>');
    });
    await new Promise<void>((resolve) => site.listen(0, 'localhost', resolve));
    siteOrigin = `http://localhost:${(site.address() as AddressInfo).port}`;
    srv = await startTestServer('pglite', { RAMPART_OUTBOUND_ALLOW: 'localhost' });
    owner = await signup(srv.baseUrl, { orgName: 'Ingest Corp' });
    const w = await api(srv.baseUrl, owner.token).post<{ id: string }>(`/api/orgs/${owner.orgId}/widgets`, {
      name: 'Help desk',
      allowedOrigins: ['https://shop.example.com'],
      model: 'gpt-4o-mini',
    });
    expect(w.status, w.text).toBe(201);
    widgetId = w.body.id;
    ({ browser, page, watched } = await openWatchedPage());
    await page.goto(`${srv.baseUrl}/login`);
    await page.getByLabel('E-mail', { exact: true }).fill(owner.email);
    await page.getByLabel('Password', { exact: true }).fill(owner.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('navigation', { name: 'Main' }).getByText(owner.email).waitFor();
    await page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Chat widgets', exact: true })
      .click();
    await detail().getByRole('heading', { name: 'Help desk' }).waitFor();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await srv?.close();
    await new Promise<void>((resolve) => (site ? site.close(() => resolve()) : resolve()));
  });

  it('uploads a PDF: sent as a file, listed as PDF with its chunk count', async () => {
    const pdf = await textPdf(
      [
        Array.from(
          { length: 30 },
          (_, i) => `Section ${i}: orders ship within two business days of payment.`,
        ),
        Array.from({ length: 30 }, (_, i) => `Returns ${i}: unworn items come back free within thirty days.`),
      ],
      'Shipping guide',
    );
    await detail().getByLabel('Read from a file (optional)', { exact: true }).setInputFiles({
      name: 'guide.pdf',
      mimeType: 'application/pdf',
      buffer: pdf,
    });
    await detail().getByTestId('pdf-selected').waitFor();
    expect(await detail().getByTestId('pdf-selected').textContent()).toContain('guide.pdf');
    expect(await detail().getByLabel('Document name', { exact: true }).inputValue()).toBe('guide.pdf');
    expect(await detail().getByLabel('Document text', { exact: true }).count()).toBe(0);
    await detail().getByRole('button', { name: 'Upload document' }).click();
    await row('guide.pdf').waitFor({ timeout: 20_000 });
    const doc = (await listed()).find((d) => d.name === 'guide.pdf');
    expect(doc).toMatchObject({ format: 'pdf' });
    expect(doc?.chunks).toBeGreaterThan(1);
    const cells = await row('guide.pdf').getByRole('cell').allTextContents();
    expect(cells.slice(1, 4)).toEqual(['PDF', expect.stringMatching(/ KB$/), String(doc?.chunks)]);
    expect(await detail().getByRole('status').filter({ hasText: 'Added guide.pdf' }).count()).toBe(1);
    await shot('pdf');
  });

  it('uploads an HTML file: only the article is kept, listed as a web page', async () => {
    await detail()
      .getByLabel('Read from a file (optional)', { exact: true })
      .setInputFiles({
        name: 'hours.html',
        mimeType: 'text/html',
        buffer: Buffer.from(PAGE),
      });
    await expect.poll(() => detail().getByLabel('Document text', { exact: true }).inputValue()).toBe(PAGE);
    expect(await detail().getByLabel('Format', { exact: true }).inputValue()).toBe('html');
    await detail().getByRole('button', { name: 'Upload document' }).click();
    await row('hours.html').waitFor({ timeout: 20_000 });
    const doc = (await listed()).find((d) => d.name === 'hours.html');
    expect(doc).toMatchObject({ format: 'html' });
    const cells = await row('hours.html').getByRole('cell').allTextContents();
    expect(cells[1]).toBe('Web page');
    expect(cells[3]).toBe(String(doc?.chunks));
    const chunks = await srv.rampart.services.db.org(owner.orgId, async (q) =>
      (
        await q.query<{ content: string }>('SELECT content FROM widget_chunks WHERE document_id = $1', [
          doc?.id,
        ])
      ).rows.map((r) => r.content),
    );
    const text = chunks.join('\n');
    expect(text).toContain('## Holidays');
    for (const b of ['TRACKER', 'NAVLINK', 'FOOTER_TEXT']) expect(text).not.toContain(b);
  });

  it('shows a clear error for an image-only PDF, and adds nothing', async () => {
    const before = (await listed()).length;
    await detail()
      .getByLabel('Read from a file (optional)', { exact: true })
      .setInputFiles({
        name: 'scan.pdf',
        mimeType: 'application/pdf',
        buffer: await imagePdf(2),
      });
    await detail().getByTestId('pdf-selected').waitFor();
    await detail().getByRole('button', { name: 'Upload document' }).click();
    const alert = detail().getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toContain('The PDF has no text layer (scanned or image-only pages)');
    expect((await listed()).length).toBe(before);
    expect(await row('scan.pdf').count()).toBe(0);
    await shot('pdf-no-text');
    // The file stays chosen, so it can be removed and another picked.
    await detail().getByRole('button', { name: 'Remove the PDF' }).click();
    await detail().getByLabel('Document text', { exact: true }).waitFor();
  });

  it('adds a web page by URL, listed with its address', async () => {
    const url = `${siteOrigin}/hours.html`;
    await detail().getByLabel('Page URL', { exact: true }).fill(url);
    await detail().getByRole('button', { name: 'Fetch and add' }).click();
    await row('Store hours').waitFor({ timeout: 20_000 });
    expect(await row('Store hours').getByRole('cell').first().textContent()).toBe(`Store hours${url}`);
    expect((await listed()).find((d) => d.name === 'Store hours')).toMatchObject({ sourceUrl: url });
    await shot('from-url');
  });

  it('had no console error or CSP violation; the only failed requests were the refused PDF and the resume', () => {
    expect(watched.problems, watched.problems.join('\n')).toEqual([]);
    expect(watched.failed).toEqual([
      // The sign-in page's silent resume, before there is a refresh cookie.
      '401 POST /api/auth/session',
      `422 POST /api/orgs/${owner.orgId}/widgets/${widgetId}/documents`,
    ]);
  });
});
