/**
 * The dashboard in a real browser (Debian Chromium via playwright-core) against a real server: sign up, enable
 * TOTP, sign out, sign in with TOTP, create an API key and see it exactly once, set a secret and see it only
 * masked, read the audit log with its chain status. Along the way: no console error, no CSP violation, nothing
 * in localStorage or sessionStorage, and a reload stays signed in. Gateway usage: a few calls through a local
 * stub provider, then the Usage page (chart, tables by key and model, a budget bar) and the landing page's
 * "last 24 hours" summary (the session JWT lives in memory only; the
 * HttpOnly refresh cookie resumes it: see session.test.ts).
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PASSWORD, totpCode, uniqueEmail } from '@rampart/testing';
import { artifactPath, browserTestsEnabled, openWatchedPage, type Watched } from '@rampart/testing/browser';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer } from '../../server/test/helpers.js';

type Srv = Awaited<ReturnType<typeof startTestServer>>;

/** An OpenAI-format upstream on loopback: every answer reports 11 prompt and 7 completion tokens; `status:N` fails. */
function startUpstream(): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => {
      raw += c;
    });
    req.on('end', () => {
      const body = JSON.parse(raw) as { model: string; messages: Array<{ content: string }> };
      const status = Number(/status:(\d+)/.exec(body.messages.at(-1)?.content ?? '')?.[1] ?? 200);
      res.writeHead(status, { 'content-type': 'application/json' });
      if (status !== 200)
        return res.end(JSON.stringify({ error: { message: 'stub failure', type: 'server_error' } }));
      res.end(
        JSON.stringify({
          id: 'chatcmpl-1',
          object: 'chat.completion',
          created: 1,
          model: body.model,
          choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
          usage: { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 },
        }),
      );
    });
  });
  return new Promise((r) =>
    server.listen(0, '127.0.0.1', () => r({ server, port: (server.address() as AddressInfo).port })),
  );
}

describe.skipIf(!browserTestsEnabled)('dashboard journey (Chromium)', () => {
  let srv: Srv;
  let browser: Browser;
  let page: Page;
  let watched: Watched;
  let upstream: { server: Server; port: number };
  const email = uniqueEmail('journey');
  let secret = '';
  let apiKey = '';
  const secretValue = `sk-journey-${Date.now()}-value`;
  const shot = (name: string) => page.screenshot({ path: artifactPath('dashboard', name), fullPage: true });

  beforeAll(async () => {
    upstream = await startUpstream();
    // The gateway may call the loopback stub upstream (outbound calls to private addresses are refused otherwise).
    srv = await startTestServer('pglite', { RAMPART_OUTBOUND_ALLOW: '127.0.0.1' });
    ({ browser, page, watched } = await openWatchedPage());
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await srv?.close();
    upstream?.server.close();
  });

  it('serves the app at / with a strict CSP, and sends a visitor to the sign-in page', async () => {
    const res = await page.goto(`${srv.baseUrl}/`);
    expect(res?.headers()['content-security-policy']).toContain("script-src 'self'");
    await page.waitForURL('**/login');
    await expect.poll(() => page.getByRole('heading', { name: 'Sign in to Rampart' }).isVisible()).toBe(true);
    expect(await page.getByLabel('E-mail').isVisible()).toBe(true);
    expect(await page.getByLabel('Password').isVisible()).toBe(true);
  });

  it('signs up and lands in the new org', async () => {
    await page.getByRole('link', { name: 'Create one' }).click();
    await page.getByLabel('E-mail').fill(email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByLabel('Organization name').fill('Journey Corp');
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.waitForURL(/\/orgs\/[0-9a-f-]{36}\/keys$/);
    await page.getByRole('heading', { name: 'API keys' }).waitFor();
    await shot('01-signed-up');
  });

  it('enables TOTP and shows the recovery codes once', async () => {
    await page.getByRole('link', { name: 'Account and security' }).click();
    await page
      .getByRole('form', { name: 'Set up two-factor authentication' })
      .getByLabel('Current password')
      .fill(PASSWORD);
    await page.getByRole('button', { name: 'Set up two-factor authentication' }).click();
    secret = (await page.getByTestId('totp-secret').textContent()) ?? '';
    expect(secret).toMatch(/^[A-Z2-7]{16,}$/);
    await page.getByLabel('Code from the app').fill(totpCode(secret));
    await page.getByRole('button', { name: 'Turn on' }).click();
    const codes = (await page.getByTestId('recovery-codes').textContent()) ?? '';
    expect(codes.trim().split('\n')).toHaveLength(10);
    await shot('02-recovery-codes');
    await page.getByRole('button', { name: 'I have stored them' }).click();
    await page.getByText('Two-factor authentication is on.').waitFor();
    expect(await page.content()).not.toContain(codes.trim().split('\n')[0]);
  });

  it('signs out, then signs in again with password and TOTP', async () => {
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await page.waitForURL('**/login');
    await page.getByLabel('E-mail').fill(email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByLabel('Authentication code').waitFor();
    await shot('03-totp-step');
    // The confirm step used this time step's code; each step is accepted once, so use the next one (±1 allowed).
    await page.getByLabel('Authentication code').fill(totpCode(secret, 1));
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.waitForURL(/\/orgs\/[0-9a-f-]{36}\/keys$/);
  });

  it('creates an API key, shows it once with a copy button and a warning, then only its prefix', async () => {
    await page.getByLabel('Key name').fill('journey backend');
    await page.getByRole('button', { name: 'Create key' }).click();
    apiKey = ((await page.getByTestId('revealed').textContent()) ?? '').trim();
    expect(apiKey).toMatch(/^rk_live_[1-9A-HJ-NP-Za-km-z]{32,44}$/);
    expect(await page.getByText('You will not see this again.').isVisible()).toBe(true);
    expect(await page.getByRole('button', { name: 'Copy' }).isVisible()).toBe(true);
    await shot('04-api-key-once');
    await page.getByRole('button', { name: 'I have stored it' }).click();
    await page.getByRole('cell', { name: 'journey backend', exact: true }).waitFor();
    expect(await page.content()).not.toContain(apiKey);
    expect(await page.content()).toContain(`rk_live_${apiKey.slice(8, 16)}`);
    // It is a real key: the server accepts it.
    const r = await fetch(`${srv.baseUrl}/v1/models`, { headers: { authorization: `Bearer ${apiKey}` } });
    expect(r.status).toBe(200);
  });

  it('sets a secret and from then on sees it only masked', async () => {
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByLabel('Secret name').fill('STRIPE_KEY');
    await page.getByLabel('Secret value').fill(secretValue);
    await page.getByRole('button', { name: 'Save secret' }).click();
    await page.getByTestId('masked-STRIPE_KEY').waitFor();
    expect(await page.getByLabel('Secret value').inputValue()).toBe('');
    expect(await page.content()).not.toContain(secretValue);
    expect(await page.getByTestId('masked-STRIPE_KEY').textContent()).not.toContain(secretValue.slice(3, 12));
    await shot('05-secret-masked');
  });

  it('adds an Anthropic-format model provider; its key is shown only masked', async () => {
    const providerKey = `sk-ant-journey-${Date.now()}-key`;
    await page.getByLabel('Provider name').fill('claude');
    await page.getByLabel('API format').selectOption('anthropic');
    await page.getByLabel('Base URL').fill('https://api.anthropic.com');
    await page.getByLabel('Provider API key').fill(providerKey);
    await page.getByLabel('Models (comma-separated)').fill('claude-test');
    await page.getByRole('button', { name: 'Save provider' }).click();
    await page.getByRole('cell', { name: 'anthropic', exact: true }).waitFor();
    expect(await page.getByRole('cell', { name: 'claude', exact: true }).isVisible()).toBe(true);
    expect(await page.content()).not.toContain(providerKey);
  });

  it('shows gateway usage: a chart, tables by key and model, a budget bar, a CSV export', async () => {
    const orgId = new URL(page.url()).pathname.split('/')[2] ?? '';
    // A session token for the set-up calls: the page trades its refresh cookie, as the app does on a reload.
    const token = await page.evaluate(async () => {
      const r = await fetch('/api/auth/session', { method: 'POST', credentials: 'same-origin' });
      return ((await r.json()) as { token: string }).token;
    });
    const call = async (method: string, path: string, body?: unknown) => {
      const r = await fetch(`${srv.baseUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await r.text();
      return { status: r.status, text, body: text ? JSON.parse(text) : undefined };
    };
    // 11 prompt tokens at $1000/M + 7 completion tokens at $2000/M: $0.025 a call.
    const put = await call('PUT', `/api/orgs/${orgId}/providers/stub`, {
      baseUrl: `http://127.0.0.1:${upstream.port}/v1`,
      apiKey: 'sk-upstream-journey-0123456789',
      models: ['m-journey'],
      prices: { 'm-journey': { input: 1000, output: 2000 } },
    });
    expect(put.status, put.text).toBe(200);
    const chat = (content: string) =>
      fetch(`${srv.baseUrl}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'm-journey', messages: [{ role: 'user', content }] }),
      }).then((r) => r.status);
    const statuses = [];
    for (const content of ['one', 'two', 'three', 'status:500']) statuses.push(await chat(content));
    expect(statuses).toEqual([200, 200, 200, 500]);
    const keys = await call('GET', `/api/orgs/${orgId}/api-keys`);
    const key = (keys.body.keys as Array<{ id: string; name: string }>).find(
      (k) => k.name === 'journey backend',
    );
    expect(key).toBeDefined();
    const patch = await call('PATCH', `/api/orgs/${orgId}/api-keys/${key?.id}`, { monthlyBudgetUsd: 1 });
    expect(patch.status, patch.text).toBe(200);
    // Usage rows are written off the response path: wait until the report has all four calls.
    await expect
      .poll(async () => (await call('GET', `/api/orgs/${orgId}/usage?groupBy=day`)).body.totals.requests, {
        timeout: 10_000,
      })
      .toBe(4);

    await page.getByRole('link', { name: 'Usage', exact: true }).click();
    await page.getByRole('heading', { name: 'Usage', exact: true }).waitFor();
    const byKey = page.getByTestId('usage-by-key');
    await byKey.waitFor();
    const keyRow = byKey.getByTestId('usage-by-key-row');
    expect(await keyRow.count()).toBe(1);
    expect(await keyRow.locator('td').first().textContent()).toBe('journey backend');
    expect(await keyRow.getByTestId('requests').textContent()).toBe('4');
    expect(await keyRow.textContent()).toContain('$0.0750');
    const modelRow = page.getByTestId('usage-by-model').getByTestId('usage-by-model-row');
    expect(await modelRow.count()).toBe(1);
    expect(await modelRow.locator('td').first().textContent()).toBe('m-journey');
    expect(await modelRow.getByTestId('requests').textContent()).toBe('4');
    // errors: the 500 reached the upstream, so it counts as a request and an error.
    expect(await modelRow.locator('td').nth(5).textContent()).toBe('1');
    // The chart: one bar a day, today's holding the four calls.
    const today = new Date().toISOString().slice(0, 10);
    expect(await page.getByTestId('usage-chart').locator('svg rect').count()).toBeGreaterThanOrEqual(7);
    expect(await page.getByTestId(`usage-bar-${today}`).getAttribute('data-requests')).toBe('4');
    expect(await page.getByTestId(`usage-bar-${today}`).locator('rect').getAttribute('height')).not.toBe('0');
    // The budget bar of the key with a budget: this month's spend against $1.
    const bar = page.getByTestId('budget-bar');
    await bar.waitFor();
    expect(await bar.count()).toBe(1);
    expect(await bar.textContent()).toContain('journey backend: $0.0750 of $1.00 this month');
    expect(await page.getByRole('progressbar', { name: /journey backend/ }).getAttribute('value')).toBe(
      '0.075',
    );
    // The range selector: the last 24 hours hold the same calls.
    await page.getByLabel('Range').selectOption('24h');
    await expect
      .poll(() => page.getByTestId('usage-totals').textContent())
      .toBe('4 requests, $0.0750 spent, 1 errors (last 24 hours).');
    const [csv] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Export CSV' }).click(),
    ]);
    expect(csv.suggestedFilename()).toBe('usage-24h.csv');
    const csvPath = await csv.path();
    const lines = readFileSync(csvPath, 'utf8').trim().split('\r\n');
    expect(lines[0]).toBe('group,name,requests,promptTokens,completionTokens,spendUsd,errors,p50Ms,p95Ms');
    expect(lines[1]).toContain(`${key?.id},journey backend,4,`);
    await shot('06-usage');
  });

  it("the landing page shows the gateway's last 24 hours", async () => {
    await page.getByRole('link', { name: 'API keys' }).click();
    const summary = page.getByTestId('gateway-summary');
    await summary.waitFor();
    expect(await summary.getByRole('heading').textContent()).toBe('Gateway, last 24 hours');
    expect(await summary.getByTestId('summary-requests').textContent()).toBe('4');
    expect(await summary.getByTestId('summary-spend').textContent()).toBe('$0.0750');
    expect(await summary.getByTestId('summary-errors').textContent()).toBe('1');
  });

  it('shows the audit log with what just happened and a verified hash chain', async () => {
    await page.getByRole('link', { name: 'Audit log' }).click();
    await expect
      .poll(() => page.getByTestId('chain-status').textContent(), { timeout: 10_000 })
      .toMatch(/^Hash chain verified: \d+ entries/);
    const table = page.getByTestId('audit-table');
    await table.getByText('api_key.created').first().waitFor();
    const text = (await table.textContent()) ?? '';
    for (const action of ['user.signed_up', 'api_key.created', 'secret.created'])
      expect(text, action).toContain(action);
    // Sign-ins and 2FA are the person's own account events, not the org's (finding 8): see the account page.
    expect(text).not.toContain('auth.login');
    expect(text).not.toContain('auth.totp_enabled');
    expect(text).not.toContain(secretValue);
    expect(text).not.toContain(apiKey);
    await page.getByLabel('Action').fill('api_key.created');
    await page.getByRole('button', { name: 'Filter' }).click();
    await expect
      .poll(async () => (await table.locator('tbody tr').count()) === 1, { timeout: 15_000 })
      .toBe(true);
    await shot('06-audit');
  });

  it('the audit page manages audit sinks: a generated secret shown once, the lag, delete', async () => {
    // Test servers keep the sink worker off: nothing is delivered, so the new sink shows the whole log as lag.
    await page.getByLabel('Action').fill('');
    const form = page.getByRole('form', { name: 'Add an audit sink' });
    await form.getByLabel('Sink name').fill('journey SIEM');
    await form.getByLabel('Endpoint URL').fill('https://siem.example.com/ingest');
    await form.getByRole('button', { name: 'Add sink' }).click();
    const revealed = (await page.getByTestId('revealed').textContent()) ?? '';
    expect(revealed).toMatch(/^whsec_/);
    await page.getByRole('button', { name: 'I have stored it' }).click();
    const table = page.getByTestId('sinks-table');
    await table.getByText('journey SIEM').waitFor();
    expect(await table.getByTestId('sink-lag').textContent()).toMatch(/^[1-9]\d* entries$/);
    expect(await page.content()).not.toContain(revealed);
    page.once('dialog', (d) => void d.accept());
    await table.getByRole('button', { name: 'Delete sink journey SIEM' }).click();
    await expect.poll(() => table.getByText('journey SIEM').count(), { timeout: 10_000 }).toBe(0);
  });

  it("the account page lists the user's own sign-ins and 2FA events", async () => {
    await page.getByRole('link', { name: 'Account and security' }).click();
    const table = page.getByTestId('account-events');
    await table.getByText('auth.totp_enabled').waitFor();
    const text = (await table.textContent()) ?? '';
    for (const action of ['auth.login', 'auth.totp_enabled', 'user.signed_up'])
      expect(text, action).toContain(action);
    await shot('07-account-activity');
  });

  it('kept nothing in web storage, raised no console error or CSP violation, and a reload stays signed in', async () => {
    const stored = await page.evaluate('({ local: localStorage.length, session: sessionStorage.length })');
    expect(stored).toEqual({ local: 0, session: 0 });
    expect(watched.problems, watched.problems.join('\n')).toEqual([]);
    // The only failed requests, by design: the first visit's attempt to resume a sign-in (no refresh cookie yet,
    // 401) and the password step of the TOTP sign-in (401 totp_required).
    expect(watched.failed).toEqual(['401 POST /api/auth/session', '401 POST /api/auth/login']);
    await page.reload();
    await page.getByRole('heading', { name: 'Account and security' }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/account');
  });
});
