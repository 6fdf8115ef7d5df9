/**
 * The embeddable widget script (`packages/widget`): its size budget, its error handling against a fake fetch,
 * and real-browser journeys (Debian's Chromium via playwright-core, never a downloaded browser) against a real
 * Rampart. Host pages are served from other local ports, so every call is cross-origin as on a customer's site:
 * an allowed origin gets answers, a refused one is told so, a rate-limited visitor is asked to slow down.
 * Screenshots go to artifacts/widget/ (git-ignored).
 *
 * Reads packages/widget/dist/widget.js: `npm test` builds it first (pretest), or `npm run build -w @rampart/widget`.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { type Account, api, signup } from '@rampart/testing';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer } from '../../server/test/helpers.js';
import { startModelStub, useStubProvider } from '../../server/test/widget-support.js';
import { createClient, errorText, MAX_MESSAGE_LENGTH, retryAfterSeconds } from '../src/client.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DIST = `${ROOT}packages/widget/dist/widget.js`;
const SRC = `${ROOT}packages/widget/src/`;
const SHOTS = `${ROOT}artifacts/widget/`;
const CHROMIUM = '/usr/bin/chromium';
const MAX_GZIP_BYTES = 15 * 1024;

describe('widget.js build', () => {
  it(`is under ${MAX_GZIP_BYTES} bytes gzipped, and not older than its sources`, () => {
    if (!existsSync(DIST))
      throw new Error(`${DIST} is missing: run \`npm run build -w @rampart/widget\` (npm test does it)`);
    const built = statSync(DIST).mtimeMs;
    const stale = readdirSync(SRC).filter((f) => statSync(`${SRC}${f}`).mtimeMs > built);
    expect(
      stale,
      'dist/widget.js is older than these sources: run `npm run build -w @rampart/widget`',
    ).toEqual([]);
    const gzipped = gzipSync(readFileSync(DIST), { level: 9 }).length;
    expect(gzipped, `widget.js is ${gzipped} bytes gzipped`).toBeLessThan(MAX_GZIP_BYTES);
  });
});

// ---------------------------------------------------------------------------------------------------------
// The client against a scripted fetch: what each server answer turns into.

type Step = { status: number; body?: unknown; headers?: Record<string, string> } | 'network-error';

function fakeFetch(steps: Step[]) {
  const calls: Array<{ url: string; init: RequestInit | undefined }> = [];
  const f = async (url: string, init?: RequestInit): Promise<Response> => {
    calls.push({ url, init });
    const step = steps.shift();
    if (step === undefined) throw new Error(`unexpected call to ${url}`);
    if (step === 'network-error') throw new TypeError('Failed to fetch');
    return new Response(step.body === undefined ? null : JSON.stringify(step.body), {
      status: step.status,
      headers: { 'content-type': 'application/json', ...step.headers },
    });
  };
  return { f, calls, left: () => steps.length };
}

const BASE = 'https://rampart.example.com/';
const W = '6f1c7c1e-8d2a-4c55-9a41-3c0e3f2b1a10';
const session = (token = 'wv1.t1') => ({
  status: 200,
  body: { visitorToken: token, expiresAt: new Date(Date.now() + 3_600_000).toISOString() },
});
const err = (status: number, error: string, headers?: Record<string, string>): Step => ({
  status,
  body: { error, message: 'x' },
  ...(headers ? { headers } : {}),
});

describe('widget client', () => {
  it('makes no call until the first message, then one session for many messages', async () => {
    const fake = fakeFetch([
      session(),
      { status: 200, body: { reply: 'one' } },
      { status: 200, body: { reply: 'two' } },
    ]);
    const client = createClient(BASE, W, fake.f);
    expect(fake.calls).toHaveLength(0);
    expect(await client.send('hi')).toEqual({ ok: true, reply: 'one' });
    expect(await client.send('again')).toEqual({ ok: true, reply: 'two' });
    expect(fake.calls.map((c) => c.url)).toEqual([
      `${BASE}widget/${W}/session`,
      `${BASE}widget/${W}/messages`,
      `${BASE}widget/${W}/messages`,
    ]);
    const [s, m] = fake.calls;
    // The session call is a simple CORS request (no preflight); nothing sends cookies.
    expect(s?.init?.body).toBeUndefined();
    expect(s?.init?.headers).toEqual({});
    expect(s?.init?.credentials).toBe('omit');
    expect(m?.init?.headers).toEqual({ 'content-type': 'application/json', authorization: 'Bearer wv1.t1' });
    expect(m?.init?.body).toBe(JSON.stringify({ message: 'hi' }));
  });

  it('on 401 gets a fresh session once and retries; a second 401 is a failure', async () => {
    const fake = fakeFetch([
      session('old'),
      err(401, 'unauthorized'),
      session('new'),
      { status: 200, body: { reply: 'ok' } },
    ]);
    expect(await createClient(BASE, W, fake.f).send('hi')).toEqual({ ok: true, reply: 'ok' });
    expect(fake.calls[3]?.init?.headers).toEqual({
      'content-type': 'application/json',
      authorization: 'Bearer new',
    });

    const twice = fakeFetch([session('a'), err(401, 'unauthorized'), session('b'), err(401, 'unauthorized')]);
    expect(await createClient(BASE, W, twice.f).send('hi')).toEqual({ ok: false, error: 'unavailable' });
    expect(twice.left()).toBe(0);
  });

  it('turns 429 rate_limited into a wait of Retry-After seconds', async () => {
    const fake = fakeFetch([session(), err(429, 'rate_limited', { 'retry-after': '42' })]);
    const out = await createClient(BASE, W, fake.f).send('hi');
    expect(out).toEqual({ ok: false, error: 'rate_limited', retryAfter: 42 });
    if (out.ok) throw new Error('unreachable');
    expect(errorText(out)).toBe("You're sending messages too fast; try again in 42 seconds.");
    expect(retryAfterSeconds(null)).toBe(30);
    expect(retryAfterSeconds('1')).toBe(1);
    expect(retryAfterSeconds('0')).toBe(1);
    expect(retryAfterSeconds(new Date(Date.now() + 10_000).toUTCString())).toBeGreaterThanOrEqual(9);
  });

  it.each([429, 402])('turns quota_exceeded (%i) into the message-limit text', async (status) => {
    const fake = fakeFetch([session(), err(status, 'quota_exceeded')]);
    const out = await createClient(BASE, W, fake.f).send('hi');
    expect(out).toEqual({ ok: false, error: 'quota_exceeded' });
    if (out.ok) throw new Error('unreachable');
    expect(errorText(out)).toBe(
      'This assistant has reached its message limit for now. Please try again later.',
    );
  });

  it('tells a refused site (CORS-blocked, server reachable) from an unreachable server', async () => {
    const refused = fakeFetch(['network-error', { status: 200 }]);
    expect(await createClient(BASE, W, refused.f).send('hi')).toEqual({
      ok: false,
      error: 'origin_not_allowed',
    });
    expect(refused.calls[1]?.url).toBe(`${BASE}widget.js`);
    expect(refused.calls[1]?.init?.mode).toBe('no-cors');

    const down = fakeFetch(['network-error', 'network-error']);
    const out = await createClient(BASE, W, down.f).send('hi');
    expect(out).toEqual({ ok: false, error: 'unavailable' });
    if (out.ok) throw new Error('unreachable');
    expect(errorText(out)).toBe('Could not reach the assistant. Please try again in a moment.');
  });

  it('maps 5xx to unavailable, a readable origin_not_allowed and validation errors to their texts', async () => {
    for (const [step, error] of [
      [err(502, 'bad_gateway'), 'unavailable'],
      [{ status: 503, body: undefined }, 'unavailable'],
      [err(403, 'origin_not_allowed'), 'origin_not_allowed'],
      [err(400, 'validation_failed'), 'invalid'],
    ] as const) {
      const fake = fakeFetch([session(), step]);
      expect(await createClient(BASE, W, fake.f).send('hi')).toEqual({ ok: false, error });
    }
  });

  it('refuses a message over the server limit without calling it', async () => {
    const fake = fakeFetch([]);
    const out = await createClient(BASE, W, fake.f).send('x'.repeat(MAX_MESSAGE_LENGTH + 1));
    expect(out).toEqual({ ok: false, error: 'invalid' });
    expect(fake.calls).toHaveLength(0);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Real browser, real Rampart, host pages on other ports.

describe('widget client: deleting the conversation', () => {
  it('with nothing sent, deletes nothing and calls nothing', async () => {
    const fake = fakeFetch([]);
    expect(await createClient(BASE, W, fake.f).forget()).toEqual({ ok: true });
    expect(fake.calls).toEqual([]);
  });

  it("sends DELETE with the session's token, then starts a new session for the next message", async () => {
    const fake = fakeFetch([
      session('wv1.first'),
      { status: 200, body: { reply: 'one' } },
      { status: 200, body: { ok: true, deleted: true } },
      session('wv1.second'),
      { status: 200, body: { reply: 'two' } },
    ]);
    const c = createClient(BASE, W, fake.f);
    await c.send('hello');
    expect(await c.forget()).toEqual({ ok: true });
    const del = fake.calls[2];
    expect(del?.url).toBe(`${BASE}widget/${W}/conversation`);
    expect(del?.init?.method).toBe('DELETE');
    expect((del?.init?.headers as Record<string, string> | undefined)?.authorization).toBe(
      'Bearer wv1.first',
    );
    expect(del?.init?.credentials).toBe('omit');
    await c.send('again');
    expect(fake.calls[3]?.url).toBe(`${BASE}widget/${W}/session`);
    expect((fake.calls[4]?.init?.headers as Record<string, string> | undefined)?.authorization).toBe(
      'Bearer wv1.second',
    );
    expect(fake.left()).toBe(0);
  });

  it('deletes the conversation of every session this page started, and reports a refusal, not a deletion', async () => {
    // A session about to expire (under a minute left) is replaced before the next message: two conversations.
    const soon = {
      status: 200,
      body: { visitorToken: 'wv1.old', expiresAt: new Date(Date.now() + 30_000).toISOString() },
    };
    const fake = fakeFetch([
      soon,
      { status: 200, body: { reply: 'one' } },
      session('wv1.new'),
      { status: 200, body: { reply: 'two' } },
      { status: 200, body: { ok: true, deleted: true } },
      err(401, 'unauthorized'),
      { status: 200, body: { ok: true, deleted: false } },
    ]);
    const c = createClient(BASE, W, fake.f);
    await c.send('hello');
    await c.send('again');
    const auth = (i: number) =>
      (fake.calls[i]?.init?.headers as Record<string, string> | undefined)?.authorization;
    // The second token's DELETE is refused: the visitor is told, not shown "deleted".
    expect(await c.forget()).toEqual({ ok: false, error: 'unavailable' });
    expect([auth(4), auth(5)]).toEqual(['Bearer wv1.old', 'Bearer wv1.new']);
    // Trying again starts from the conversation not yet deleted.
    expect(await c.forget()).toEqual({ ok: true });
    expect(auth(6)).toBe('Bearer wv1.new');
    expect(fake.left()).toBe(0);
  });

  it('reports a refusal or a network failure, and keeps the session to try again', async () => {
    const fake = fakeFetch([
      session(),
      { status: 200, body: { reply: 'one' } },
      err(429, 'rate_limited', { 'retry-after': '7' }),
      'network-error',
      { status: 200, body: { ok: true, deleted: true } },
    ]);
    const c = createClient(BASE, W, fake.f);
    await c.send('hello');
    expect(await c.forget()).toEqual({ ok: false, error: 'rate_limited', retryAfter: 7 });
    expect(await c.forget()).toEqual({ ok: false, error: 'unavailable' });
    expect(await c.forget()).toEqual({ ok: true });
    expect(fake.left()).toBe(0);
  });
});

const hasChromium = existsSync(CHROMIUM);

/** Hostile host-page CSS: none of it may reach the widget. */
const HOST_CSS = `* { color: red !important; font-size: 40px !important; font-family: serif !important }
button { display: none !important }
div, textarea { border: 6px dashed lime !important; background: yellow !important }
rampart-chat { display: none !important; opacity: 0 !important }`;

/**
 * A customer's site: serves, at /<widgetId>, a page that embeds that widget. With `csp`, the page has a strict
 * Content-Security-Policy: scripts and connections to Rampart only, no inline styles but its own (by nonce).
 */
async function startHostSite(
  rampart: string,
  csp = false,
): Promise<{ origin: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const id = (req.url ?? '/').slice(1);
    if (!/^[0-9a-f-]{36}$/.test(id)) {
      res.writeHead(req.url === '/favicon.ico' ? 204 : 404).end();
      return;
    }
    res.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      ...(csp
        ? {
            'content-security-policy': `default-src 'none'; script-src ${rampart}; connect-src ${rampart}; style-src 'nonce-host'`,
          }
        : {}),
    });
    res.end(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Host shop</title>
<style nonce="host">${HOST_CSS}</style>
<script src="${rampart}/widget.js" data-widget-id="${id}" data-title="Shop help" async></script>
</head><body><h1>Host shop</h1><p>Everything here is red and huge.</p><button>Host button</button></body></html>`);
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

/** Evaluates `expr` in the page with `r` bound to the widget's shadow root. */
const inShadow = <T>(page: Page, expr: string): Promise<T> =>
  page.evaluate(
    `(() => { const r = document.querySelector('rampart-chat').shadowRoot; return ${expr}; })()`,
  ) as Promise<T>;

const computed = (selector: string, prop: string) =>
  `getComputedStyle(r.querySelector(${JSON.stringify(selector)})).getPropertyValue(${JSON.stringify(prop)})`;

describe.skipIf(!hasChromium && !process.env.CI)('widget in a real browser', () => {
  let browser: Browser;
  let srv: Awaited<ReturnType<typeof startTestServer>>;
  let stub: Awaited<ReturnType<typeof startModelStub>>;
  let site: Awaited<ReturnType<typeof startHostSite>>;
  let stranger: Awaited<ReturnType<typeof startHostSite>>;
  let owner: Account;
  let widgetId: string;

  const createWidget = async (acc: Account, model: string, limits?: object): Promise<string> => {
    await useStubProvider(srv.baseUrl, acc, stub.origin, [model]);
    const r = await api(srv.baseUrl, acc.token).post<{ id: string }>(`/api/orgs/${acc.orgId}/widgets`, {
      name: 'help',
      allowedOrigins: [site.origin],
      systemPrompt: 'You are the shop helper.',
      model,
      ...(limits ? { limits } : {}),
    });
    expect(r.status, r.text).toBe(201);
    return r.body.id;
  };

  beforeAll(async () => {
    if (!hasChromium)
      throw new Error(
        `Chromium not found at ${CHROMIUM} (CI is set, so this fails): apt-get install -y chromium`,
      );
    if (!existsSync(DIST)) throw new Error(`${DIST} is missing: run \`npm run build -w @rampart/widget\``);
    mkdirSync(SHOTS, { recursive: true });
    [browser, stub, srv] = await Promise.all([
      chromium.launch({
        executablePath: CHROMIUM,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
      }),
      startModelStub(),
      startTestServer('pglite', { RAMPART_OUTBOUND_ALLOW: '127.0.0.1' }),
    ]);
    [site, stranger] = await Promise.all([startHostSite(srv.baseUrl), startHostSite(srv.baseUrl, true)]);
    owner = await signup(srv.baseUrl);
    // The stub answers slow-model after 3 s: long enough to see the typing indicator and the disabled button.
    widgetId = await createWidget(owner, 'slow-model');
  });
  afterAll(async () => {
    await browser?.close();
    await Promise.all([site?.close(), stranger?.close(), stub?.close(), srv?.close()]);
  });

  const open = async (
    origin: string,
    id: string,
    opts: { nullCurrentScript?: boolean; fakeClock?: boolean } = {},
  ) => {
    const page = await browser.newPage({ viewport: { width: 1000, height: 700 } });
    const problems: string[] = [];
    const toRampart: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`exception: ${e.message}`));
    page.on('response', (r) => {
      if (r.status() >= 400) problems.push(`${r.status()} ${r.url()}`);
    });
    page.on('request', (r) => {
      if (r.url().startsWith(srv.baseUrl)) toRampart.push(`${r.method()} ${new URL(r.url()).pathname}`);
    });
    await page.addInitScript('window.__globalsBefore = Object.getOwnPropertyNames(window)');
    // A loader that leaves document.currentScript null: the script must find its own tag another way.
    if (opts.nullCurrentScript)
      await page.addInitScript(
        "Object.defineProperty(Document.prototype, 'currentScript', { configurable: true, get: () => null })",
      );
    if (opts.fakeClock) await page.clock.install();
    await page.goto(`${origin}/${id}`);
    await page.locator('rampart-chat .launcher').waitFor({ state: 'visible', timeout: 10_000 });
    return { page, problems, toRampart };
  };

  it('answers on an allowed origin, untouched by the host page CSS, with no network before first use', async () => {
    const { page, problems, toRampart } = await open(site.origin, widgetId);

    // The host's `* { color: red; font-size: 40px }`, `button { display: none }` and
    // `rampart-chat { display: none }` (all !important) do not reach the widget.
    expect(await inShadow(page, computed('.launcher', 'display'))).toBe('flex');
    expect(await inShadow(page, computed('.launcher', 'background-color'))).toBe('rgb(36, 81, 199)');
    expect(await page.evaluate("getComputedStyle(document.querySelector('rampart-chat')).display")).toBe(
      'block',
    );
    expect(await page.evaluate("getComputedStyle(document.querySelector('h1')).color")).toBe(
      'rgb(255, 0, 0)',
    );
    await page.screenshot({ path: `${SHOTS}1-allowed-closed.png` });

    const launcher = page.locator('rampart-chat .launcher');
    expect(await launcher.getAttribute('aria-expanded')).toBe('false');
    await launcher.click();
    expect(await launcher.getAttribute('aria-expanded')).toBe('true');
    const panel = page.locator('rampart-chat [role="dialog"]');
    await panel.waitFor({ state: 'visible' });
    expect(await panel.getAttribute('aria-label')).toBe('Shop help');
    expect(await page.locator('rampart-chat [role="log"]').getAttribute('aria-live')).toBe('polite');
    expect(await inShadow(page, 'r.activeElement && r.activeElement.tagName')).toBe('TEXTAREA');
    expect(await inShadow(page, 'r.querySelector("label[for=input]").textContent')).toBe('Your message');
    expect(await inShadow(page, computed('textarea', 'font-size'))).toBe('14px');
    expect(await inShadow(page, computed('.log', 'color'))).not.toBe('rgb(255, 0, 0)');
    expect(await inShadow(page, computed('.send', 'display'))).not.toBe('none');
    // Nothing but the script itself has been fetched from Rampart yet.
    expect(toRampart).toEqual(['GET /widget.js']);

    // Markup in a message is shown as text, never parsed.
    const message = 'Do you ship to Canada? <img src=x onerror="window.__xss=1"><b>bold</b>';
    const calls = stub.calls.length;
    await page.keyboard.type(message);
    await page.keyboard.press('Enter');
    await page.locator('rampart-chat .typing').waitFor({ state: 'visible' });
    expect(await page.locator('rampart-chat .send').isDisabled()).toBe(true);
    await page.screenshot({ path: `${SHOTS}2-allowed-typing.png` });

    const answer = page.locator('rampart-chat .msg.bot:not(.typing)');
    await answer.waitFor({ state: 'visible', timeout: 15_000 });
    expect(await answer.textContent()).toMatch(/^Assistant: Answer \d+$/);
    expect(await page.locator('rampart-chat .msg.me').textContent()).toBe(`You: ${message}`);
    expect(await inShadow(page, 'r.querySelectorAll("img, b").length')).toBe(0);
    expect(await page.evaluate('window.__xss')).toBeUndefined();
    expect(await page.locator('rampart-chat .typing').count()).toBe(0);
    expect(await page.locator('rampart-chat .send').isDisabled()).toBe(false);
    expect(stub.calls.length).toBe(calls + 1);
    expect(stub.calls.at(-1)?.body.messages.at(-1)?.content).toContain('Do you ship to Canada?');
    expect(toRampart).toEqual([
      'GET /widget.js',
      `POST /widget/${widgetId}/session`,
      `POST /widget/${widgetId}/messages`,
    ]);
    await page.screenshot({ path: `${SHOTS}3-allowed-answer.png` });

    // Escape closes the panel and gives focus back to the launcher.
    await page.keyboard.press('Escape');
    await panel.waitFor({ state: 'hidden' });
    expect(await launcher.getAttribute('aria-expanded')).toBe('false');
    expect(await inShadow(page, 'r.activeElement && r.activeElement.className')).toBe('launcher');

    // The token stayed in memory; the script left no globals behind.
    expect(await page.evaluate('localStorage.length + sessionStorage.length')).toBe(0);
    expect(await page.evaluate('document.cookie')).toBe('');
    expect(
      await page.evaluate(
        'Object.getOwnPropertyNames(window).filter((n) => !window.__globalsBefore.includes(n) && n !== "__globalsBefore")',
      ),
    ).toEqual([]);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('tells a visitor on a refused origin that the site is not allowed, and never reaches the model', async () => {
    // This site also has a strict CSP (no inline styles): the widget's constructed stylesheet still applies.
    const { page, problems } = await open(stranger.origin, widgetId);
    expect(await page.evaluate("getComputedStyle(document.querySelector('h1')).color")).toBe(
      'rgb(255, 0, 0)',
    );
    expect(await inShadow(page, computed('.launcher', 'background-color'))).toBe('rgb(36, 81, 199)');
    const calls = stub.calls.length;
    await page.locator('rampart-chat .launcher').click();
    await page.keyboard.type('Hello from a site that is not allowed');
    await page.keyboard.press('Enter');
    const note = page.locator('rampart-chat .msg.note');
    await note.waitFor({ state: 'visible', timeout: 10_000 });
    expect(await note.textContent()).toBe('This site is not allowed to use this chat widget.');
    expect(await page.locator('rampart-chat .msg.bot').count()).toBe(0);
    // The unsent message is given back for another try.
    expect(await page.locator('rampart-chat textarea').inputValue()).toBe(
      'Hello from a site that is not allowed',
    );
    expect(stub.calls.length).toBe(calls);
    await page.screenshot({ path: `${SHOTS}4-refused-origin.png` });
    // The browser reports the blocked cross-origin call, but nothing the widget did broke the site's CSP.
    expect(problems.filter((p) => /content security policy|exception/i.test(p))).toEqual([]);
    expect(problems.some((p) => /CORS policy/.test(p))).toBe(true);
    await page.close();
  });

  it('asks a rate-limited visitor to slow down (and works when document.currentScript is null)', async () => {
    const acc = await signup(srv.baseUrl);
    const limited = await createWidget(acc, 'chat-model', { perIpPerMinute: 1, perWidgetPerMinute: 100 });
    const { page } = await open(site.origin, limited, { nullCurrentScript: true, fakeClock: true });
    expect(await page.evaluate('document.currentScript')).toBeNull();
    await page.locator('rampart-chat .launcher').click();
    await page.keyboard.type('First question');
    await page.keyboard.press('Enter');
    await page.locator('rampart-chat .msg.bot:not(.typing)').waitFor({ state: 'visible', timeout: 10_000 });

    await page.keyboard.type('Second question');
    await page.keyboard.press('Enter');
    const note = page.locator('rampart-chat .msg.note');
    await note.waitFor({ state: 'visible', timeout: 10_000 });
    expect(await note.textContent()).toMatch(
      /^You're sending messages too fast; try again in \d+ seconds?\.$/,
    );
    expect(await page.locator('rampart-chat .msg.bot:not(.typing)').count()).toBe(1);
    expect(await page.locator('rampart-chat .send').isDisabled()).toBe(true);
    expect(await page.locator('rampart-chat textarea').inputValue()).toBe('Second question');
    await page.screenshot({ path: `${SHOTS}5-rate-limited.png` });
    // Sending is possible again once Retry-After has passed.
    const wait = Number(/in (\d+) second/.exec((await note.textContent()) ?? '')?.[1]);
    await page.clock.runFor((wait - 1) * 1000);
    expect(await page.locator('rampart-chat .send').isDisabled()).toBe(true);
    await page.clock.runFor(2_000);
    expect(await page.locator('rampart-chat .send').isDisabled()).toBe(false);
    await page.close();
  });
});
