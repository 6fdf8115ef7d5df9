/**
 * Widget conversations end to end in Chromium (issue 25 §3): a visitor chats through the real widget script
 * on a customer's page (another local port, so every call is cross-origin); the owner, signed in to the
 * dashboard, sees the conversation, the question the widget could not answer and the day's bar, opens the
 * thread and deletes it; then a visitor deletes their own conversation from the widget, and it is gone for
 * the owner too. No console error and no CSP violation on either page. Screenshots go to
 * artifacts/dashboard/conversations-*.png.
 *
 * Needs the built dashboard and widget (`npm run build -w @rampart/dashboard -w @rampart/widget`).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Account, api, signup } from '@rampart/testing';
import { artifactPath, browserTestsEnabled, openWatchedPage, watchPage } from '@rampart/testing/browser';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer } from '../../server/test/helpers.js';
import { startModelStub, useStubProvider } from '../../server/test/widget-support.js';

type Srv = Awaited<ReturnType<typeof startTestServer>>;

/** A customer's site: at /<widgetId>, a page that embeds that widget from Rampart. */
async function startHostSite(rampart: string): Promise<{ origin: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const id = (req.url ?? '/').slice(1);
    if (!/^[0-9a-f-]{36}$/.test(id)) {
      res.writeHead(req.url === '/favicon.ico' ? 204 : 404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Shop</title>
<script src="${rampart}/widget.js" data-widget-id="${id}" data-title="Shop help" async></script>
</head><body><h1>Shop</h1></body></html>`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe.skipIf(!browserTestsEnabled)('widget conversations journey (Chromium)', () => {
  let srv: Srv;
  let stub: Awaited<ReturnType<typeof startModelStub>>;
  let site: Awaited<ReturnType<typeof startHostSite>>;
  let browser: Browser;
  let page: Page;
  let watched: { problems: string[] };
  let owner: Account;
  let widgetId: string;
  const shot = (p: Page, name: string) =>
    p.screenshot({ path: artifactPath('dashboard', `conversations-${name}`), fullPage: true });
  const conversations = async () =>
    (
      await api(srv.baseUrl, owner.token).get<{ conversations: Array<{ id: string }> }>(
        `/api/orgs/${owner.orgId}/widgets/${widgetId}/conversations`,
      )
    ).body.conversations;

  /** A visitor's page on the customer's site: opens the widget and sends each message, waiting for its answer. */
  async function visit(messages: string[]) {
    const visitorPage = await browser.newPage();
    const seen = await watchPage(visitorPage);
    await visitorPage.goto(`${site.origin}/${widgetId}`);
    await visitorPage.locator('rampart-chat .launcher').click();
    for (const [i, m] of messages.entries()) {
      await visitorPage.locator('rampart-chat textarea').fill(m);
      await visitorPage.keyboard.press('Enter');
      await expect
        .poll(() => visitorPage.locator('rampart-chat .msg.bot:not(.typing)').count(), { timeout: 15_000 })
        .toBe(i + 1);
    }
    return { visitorPage, seen };
  }

  beforeAll(async () => {
    [stub, srv] = await Promise.all([
      startModelStub(),
      startTestServer('pglite', { RAMPART_OUTBOUND_ALLOW: '127.0.0.1' }),
    ]);
    site = await startHostSite(srv.baseUrl);
    owner = await signup(srv.baseUrl, { orgName: 'Conversations Corp' });
    await useStubProvider(srv.baseUrl, owner, stub.origin, ['chat-model']);
    const a = api(srv.baseUrl, owner.token);
    const w = await a.post<{ id: string }>(`/api/orgs/${owner.orgId}/widgets`, {
      name: 'Shop help',
      allowedOrigins: [site.origin],
      model: 'chat-model',
    });
    expect(w.status, w.text).toBe(201);
    widgetId = w.body.id;
    const doc = await a.post(`/api/orgs/${owner.orgId}/widgets/${widgetId}/documents`, {
      name: 'returns.md',
      content: 'You can return shoes within 30 days with the receipt.',
    });
    expect(doc.status, doc.text).toBe(201);
    ({ browser, page, watched } = await openWatchedPage());
    page.on('dialog', (d) => void d.accept());
    await page.goto(`${srv.baseUrl}/login`);
    await page.getByLabel('E-mail', { exact: true }).fill(owner.email);
    await page.getByLabel('Password', { exact: true }).fill(owner.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('navigation', { name: 'Main' }).getByText(owner.email).waitFor();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await Promise.all([site?.close(), stub?.close(), srv?.close()]);
  });

  it('the owner sees what a visitor asked, opens the thread and deletes the conversation', async () => {
    const { visitorPage, seen } = await visit(['Can I return shoes?', 'Do you sell purple hats?']);
    await shot(visitorPage, '1-visitor');
    await visitorPage.close();
    expect(seen.problems).toEqual([]);

    await page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Chat widgets', exact: true })
      .click();
    const section = page.getByTestId('widget-conversations');
    await section.getByTestId('conversations-table').waitFor();
    expect(await section.getByTestId('message-count').allTextContents()).toEqual(['2']);
    // The question no document matched is listed as unanswered, and today's bar counts both messages.
    await expect
      .poll(() => section.getByTestId('unanswered-table').textContent())
      .toContain('Do you sell purple hats?');
    const today = new Date().toISOString().slice(0, 10);
    const bar = section.getByTestId(`messages-bar-${today}`);
    expect([await bar.getAttribute('data-answered'), await bar.getAttribute('data-unanswered')]).toEqual([
      '1',
      '1',
    ]);
    await shot(page, '2-list');

    await section.getByRole('button', { name: /^Open conversation of visitor/ }).click();
    const thread = page.getByTestId('conversation-thread');
    await thread.getByTestId('thread-message').nth(1).waitFor();
    expect(await thread.getByTestId('thread-question').allTextContents()).toEqual([
      'Can I return shoes?',
      'Do you sell purple hats?',
    ]);
    expect(
      (await thread.getByTestId('thread-reply').allTextContents()).every((r) => /^Answer \d+$/.test(r)),
    ).toBe(true);
    expect(await thread.getByText('not answered from the documents').count()).toBe(1);
    await shot(page, '3-thread');

    await thread.getByRole('button', { name: 'Delete conversation' }).click();
    await thread.waitFor({ state: 'detached' });
    await section.getByText('No conversations yet.').waitFor();
    expect(await conversations()).toEqual([]);
    expect(watched.problems).toEqual([]);
  });

  it('a visitor deletes their own conversation from the widget; the owner no longer sees it', async () => {
    const { visitorPage, seen } = await visit(['Can I return shoes without the receipt?']);
    expect(await conversations()).toHaveLength(1);
    await visitorPage.locator('rampart-chat').getByRole('button', { name: 'Delete my conversation' }).click();
    const note = visitorPage.locator('rampart-chat .msg.note');
    await note.waitFor({ state: 'visible', timeout: 10_000 });
    expect(await note.textContent()).toBe('Your conversation was deleted.');
    expect(await visitorPage.locator('rampart-chat .msg.me').count()).toBe(0);
    await shot(visitorPage, '4-visitor-deleted');
    expect(await conversations()).toEqual([]);
    // The next message starts a new conversation (a new session).
    await visitorPage.locator('rampart-chat textarea').fill('One more question about shoes');
    await visitorPage.keyboard.press('Enter');
    await expect.poll(async () => (await conversations()).length, { timeout: 15_000 }).toBe(1);
    await visitorPage.close();
    expect(seen.problems).toEqual([]);

    await page.reload();
    const section = page.getByTestId('widget-conversations');
    await section.getByTestId('conversations-table').waitFor();
    expect(await section.getByTestId('message-count').allTextContents()).toEqual(['1']);
    expect(watched.problems).toEqual([]);
  });
});
