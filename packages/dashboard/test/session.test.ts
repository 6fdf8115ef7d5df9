/**
 * Dashboard sessions that survive a reload (issue 20 part 4), in a real browser (Debian Chromium) against a real
 * server, one browser context with several tabs: a reload and a second tab stay signed in; two tabs refreshing
 * at the same moment do not look like token theft; the refresh cookie is HttpOnly, SameSite=Strict and scoped to
 * /api/auth/session; a page of another origin (another site, or the same site on another port) cannot use it; a
 * replayed, already-rotated refresh cookie signs every tab out. After every step, localStorage and
 * sessionStorage are empty in every tab.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PASSWORD, uniqueEmail } from '@rampart/testing';
import { artifactPath, browserTestsEnabled, launchBrowser, watchPage } from '@rampart/testing/browser';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer } from '../../server/test/helpers.js';

type Srv = Awaited<ReturnType<typeof startTestServer>>;
const IN_ORG = /\/orgs\/[0-9a-f-]{36}\/keys$/;

describe.skipIf(!browserTestsEnabled)('dashboard sessions across reloads and tabs (Chromium)', () => {
  let srv: Srv;
  let browser: Browser;
  let context: BrowserContext;
  let evil: Server;
  let evilPort = 0;
  const tabs: Page[] = [];
  const problems: string[][] = [];
  const email = uniqueEmail('session');

  /** Nothing in web storage, in any open tab. */
  async function noWebStorage() {
    for (const p of tabs) {
      expect(await p.evaluate('({ local: localStorage.length, session: sessionStorage.length })')).toEqual({
        local: 0,
        session: 0,
      });
    }
  }
  async function newTab(): Promise<Page> {
    const p = await context.newPage();
    problems.push((await watchPage(p)).problems);
    tabs.push(p);
    return p;
  }
  const refreshCookie = async () => (await context.cookies()).find((c) => c.name === 'rampart_refresh');
  const signedIn = (p: Page) => p.getByRole('heading', { name: 'API keys' }).waitFor();

  beforeAll(async () => {
    // No RAMPART_PUBLIC_URL: the test server's public URL is its own http://127.0.0.1:<port> (helpers.ts).
    srv = await startTestServer('pglite');
    // A page of another origin whose script tries the refresh endpoint with the browser's cookies.
    evil = createServer((_req, res) => {
      const target = `${srv.baseUrl}/api/auth/session`;
      res.writeHead(200, { 'content-type': 'text/html' });
      // A CSRF-style no-cors POST (fire and forget), then a CORS one that would read a token if it got one.
      res.end(`<!doctype html><title>elsewhere</title><script>
        const target = ${JSON.stringify(target)};
        window.attempt = Promise.allSettled([
          fetch(target, { method: 'POST', credentials: 'include', mode: 'no-cors' }).then((r) => r.text()),
          fetch(target, { method: 'POST', credentials: 'include' }).then((r) => r.text()),
        ]).then((all) => all.map((r) => (r.status === 'fulfilled' ? { body: r.value } : { error: String(r.reason) })));
      </script>`);
    });
    await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve));
    evilPort = (evil.address() as AddressInfo).port;
    browser = await launchBrowser();
    context = await browser.newContext();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => evil?.close(resolve));
    await srv?.close();
  });

  it('signs up with an HttpOnly, SameSite=Strict refresh cookie on the refresh path, and nothing in storage', async () => {
    const page = await newTab();
    await page.goto(`${srv.baseUrl}/signup`);
    await page.getByLabel('E-mail').fill(email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByLabel('Organization name').fill('Session Corp');
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.waitForURL(IN_ORG);
    await signedIn(page);
    const cookies = await context.cookies();
    expect(cookies.map((c) => c.name)).toEqual(['rampart_refresh']);
    const c = cookies[0];
    expect(c?.value).toMatch(/^rrt_/);
    expect(c?.httpOnly).toBe(true);
    expect(c?.sameSite).toBe('Strict');
    expect(c?.path).toBe('/api/auth/session');
    expect(c?.secure).toBe(false); // loopback http public URL outside production
    expect(await page.evaluate('document.cookie')).toBe('');
    await noWebStorage();
  });

  it('a reload stays signed in (and rotates the cookie)', async () => {
    const page = tabs[0] as Page;
    const before = (await refreshCookie())?.value;
    await page.reload();
    await signedIn(page);
    expect(new URL(page.url()).pathname).toMatch(IN_ORG);
    expect((await refreshCookie())?.value).not.toBe(before);
    await noWebStorage();
  });

  it('a second tab opens signed in', async () => {
    const second = await newTab();
    await second.goto(`${srv.baseUrl}/`);
    await second.waitForURL(IN_ORG);
    await signedIn(second);
    await noWebStorage();
  });

  it('refreshes the session JWT a minute before it expires, without a reload', async () => {
    const page = await newTab();
    await page.clock.install();
    await page.goto(`${srv.baseUrl}/`);
    await signedIn(page);
    const before = (await refreshCookie())?.value;
    await page.clock.fastForward('13:30');
    expect((await refreshCookie())?.value).toBe(before);
    await page.clock.fastForward('01:00'); // 14:30 in: the refresh (due at 14:00) has run
    await expect.poll(async () => (await refreshCookie())?.value).not.toBe(before);
    await page.getByRole('link', { name: 'Account and security' }).click();
    await page.getByRole('heading', { name: 'Account and security' }).waitFor();
    await noWebStorage();
    await page.close();
    tabs.pop();
  });

  it('two tabs reloading at the same moment both stay signed in (refreshes are serialised, not reuse)', async () => {
    for (let round = 0; round < 3; round++) {
      await Promise.all(tabs.map((p) => p.reload()));
      await Promise.all(tabs.map((p) => signedIn(p)));
    }
    await noWebStorage();
  });

  it('a page of another origin cannot use the cookie: 403, no token, nothing rotated', async () => {
    const held = (await refreshCookie())?.value;
    // localhost is another site than 127.0.0.1 (SameSite=Strict keeps the cookie back); 127.0.0.1 on another port
    // is the same site, where SameSite does not help and the exact-Origin check is what refuses the request.
    for (const host of ['localhost', '127.0.0.1']) {
      // Not a dashboard tab: its refused requests are expected console errors, so it is not watched.
      const page = await context.newPage();
      const logged = srv.logs.length;
      await page.goto(`http://${host}:${evilPort}/`);
      const attempts = (await page.evaluate('window.attempt')) as Array<{ body?: string; error?: string }>;
      // The script reads nothing (Cross-Origin-Resource-Policy and CORS block the answers)...
      expect(attempts).toHaveLength(2);
      for (const a of attempts) expect(a.error, JSON.stringify(a)).toMatch(/TypeError/);
      // ...and the server refused both requests anyway: 403 forbidden, no rotation.
      await expect
        .poll(() => srv.logs.slice(logged).filter((l) => l.includes('"statusCode":403')).length)
        .toBe(2);
      expect(await page.evaluate('localStorage.length + sessionStorage.length')).toBe(0);
      await page.close();
    }
    expect((await refreshCookie())?.value).toBe(held);
    await noWebStorage();
    // The sign-in is intact: a reload still resumes it.
    const first = tabs[0] as Page;
    await first.reload();
    await signedIn(first);
  });

  it('a replayed, already-rotated refresh cookie signs every tab out', async () => {
    const [first, second] = tabs as [Page, Page];
    const stolen = (await refreshCookie())?.value ?? '';
    await first.reload(); // the app rotates the cookie
    await signedIn(first);
    const current = (await refreshCookie())?.value;
    expect(current).not.toBe(stolen);
    // The thief (or anyone) presents the old one, from the right origin.
    const replay = await fetch(`${srv.baseUrl}/api/auth/session`, {
      method: 'POST',
      headers: { origin: srv.baseUrl, cookie: `rampart_refresh=${stolen}` },
    });
    expect(replay.status).toBe(401);
    // The second tab's next action (its session JWT is dead, its refresh refused) lands on the sign-in page.
    await second.getByRole('link', { name: 'Account and security' }).click();
    await second.waitForURL('**/login');
    await second.getByRole('heading', { name: 'Sign in to Rampart' }).waitFor();
    // The first tab's next refresh (a reload) too.
    await first.reload();
    await first.waitForURL('**/login');
    await first.getByRole('heading', { name: 'Sign in to Rampart' }).waitFor();
    await first.screenshot({
      path: artifactPath('dashboard', 'session-replayed-signed-out'),
      fullPage: true,
    });
    await noWebStorage();
  });

  it('raised no console error or CSP violation in any tab', () => {
    expect(problems.flat()).toEqual([]);
  });
});
