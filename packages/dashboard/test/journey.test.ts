/**
 * The dashboard in a real browser (Debian Chromium via playwright-core) against a real server: sign up, enable
 * TOTP, sign out, sign in with TOTP, create an API key and see it exactly once, set a secret and see it only
 * masked, read the audit log with its chain status. Along the way: no console error, no CSP violation, nothing
 * in localStorage or sessionStorage, and a reload stays signed in (the session JWT lives in memory only; the
 * HttpOnly refresh cookie resumes it: see session.test.ts).
 */
import { PASSWORD, totpCode, uniqueEmail } from '@rampart/testing';
import { artifactPath, browserTestsEnabled, openWatchedPage, type Watched } from '@rampart/testing/browser';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer } from '../../server/test/helpers.js';

type Srv = Awaited<ReturnType<typeof startTestServer>>;

describe.skipIf(!browserTestsEnabled)('dashboard journey (Chromium)', () => {
  let srv: Srv;
  let browser: Browser;
  let page: Page;
  let watched: Watched;
  const email = uniqueEmail('journey');
  let secret = '';
  let apiKey = '';
  const secretValue = `sk-journey-${Date.now()}-value`;
  const shot = (name: string) => page.screenshot({ path: artifactPath('dashboard', name), fullPage: true });

  beforeAll(async () => {
    srv = await startTestServer('pglite');
    ({ browser, page, watched } = await openWatchedPage());
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await srv?.close();
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
