/**
 * The `/device` page in a real browser (Debian Chromium via playwright-core) against a real server: the link
 * `/device` (a link with `?user_code=...`) sends a signed-out visitor to sign in and back, where the code from the
 * link is NOT filled in (RFC 8628 §5.4: such links are what phishers send) and the user types it; the page shows
 * what is asking, and plainly when the request came from another address; Approve lets the CLI's next poll receive its token; the CLI session is
 * listed under Account and security and revoking it there refuses the token at once. Then a typed code (any case,
 * no dash) is denied and the CLI's poll hears access_denied. No console error, no CSP violation, no failed request.
 */
import { type Account, signup } from '@rampart/testing';
import { artifactPath, browserTestsEnabled, openWatchedPage, type Watched } from '@rampart/testing/browser';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer } from '../../server/test/helpers.js';

type Srv = Awaited<ReturnType<typeof startTestServer>>;

const GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const AGENT = 'rampart-cli/0.1.0 (browser-test-host; linux x64; node v20)';

describe.skipIf(!browserTestsEnabled)('dashboard /device: approving rampart login (Chromium)', () => {
  let srv: Srv;
  let browser: Browser;
  let page: Page;
  let watched: Watched;
  let user: Account;
  const shot = (name: string) => page.screenshot({ path: artifactPath('dashboard', name), fullPage: true });

  const form = async (path: string, params: Record<string, string>, ip = '127.0.0.1') => {
    const res = await fetch(`${srv.baseUrl}${path}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'user-agent': AGENT,
        'x-forwarded-for': ip,
      },
      body: new URLSearchParams(params).toString(),
    });
    return { status: res.status, body: (await res.json()) as Record<string, string> };
  };
  const startCli = async (ip?: string) => {
    const r = await form('/api/auth/device/code', { client_id: 'rampart-cli' }, ip);
    expect(r.status).toBe(200);
    return r.body as { device_code: string; user_code: string };
  };
  const poll = (deviceCode: string) =>
    form('/api/auth/device/token', { grant_type: GRANT, device_code: deviceCode, client_id: 'rampart-cli' });

  const signIn = async () => {
    await page.getByLabel('E-mail').fill(user.email);
    await page.getByLabel('Password').fill(user.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
  };

  beforeAll(async () => {
    srv = await startTestServer('pglite', { RAMPART_TRUST_PROXY: '127.0.0.1' });
    user = await signup(srv.baseUrl, { orgName: 'Device Page Org' });
    ({ browser, page, watched } = await openWatchedPage());
    page.on('dialog', (d) => void d.accept());
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await srv?.close();
  });

  it('a link carrying a code signs the visitor in and back, but the code must be typed; Approve hands the CLI its token', async () => {
    const cli = await startCli();
    expect((await poll(cli.device_code)).body.error).toBe('authorization_pending');

    await page.goto(`${srv.baseUrl}/device?user_code=${cli.user_code}`);
    await page.waitForURL((u) => u.pathname === '/login' && u.searchParams.has('next'));
    expect(new URL(page.url()).searchParams.get('next')).toBe(`/device?user_code=${cli.user_code}`);
    await signIn();
    // Back on /device: the code from the link is neither used nor kept in the address bar.
    await page.getByTestId('device-link-notice').waitFor();
    expect(new URL(page.url()).pathname).toBe('/device');
    expect(new URL(page.url()).search).toBe('');
    expect(await page.getByRole('textbox', { name: 'Code' }).inputValue()).toBe('');
    await page.getByRole('textbox', { name: 'Code' }).fill(cli.user_code);
    await page.getByRole('button', { name: 'Continue' }).click();
    const facts = page.getByTestId('device-request');
    await facts.waitFor();
    const text = (await facts.textContent()) ?? '';
    expect(text).toContain(cli.user_code);
    expect(text).toContain('Rampart CLI');
    expect(text).toContain(AGENT);
    expect(text).toContain('127.0.0.1');
    expect(await page.getByTestId('device-address-mismatch').count()).toBe(0);
    await shot('device-01-approve');

    await page.getByRole('button', { name: 'Approve' }).click();
    await page.getByText('Approved.').waitFor();
    expect(new URL(page.url()).search).toBe('');
    await shot('device-02-approved');

    const polled = await poll(cli.device_code);
    expect(polled.status).toBe(200);
    const accessToken = polled.body.access_token ?? '';
    expect(accessToken).toMatch(/^cli_live_/);
    const who = await fetch(`${srv.baseUrl}/api/cli/whoami`, {
      headers: { authorization: `Bearer ${accessToken}` },
    });
    expect(((await who.json()) as { email: string }).email).toBe(user.email);

    // Account and security lists it (prefix only) and revokes it at once.
    await page.getByRole('link', { name: 'Account and security' }).click();
    const table = page.getByTestId('cli-sessions');
    await table.waitFor();
    const listed = (await table.textContent()) ?? '';
    expect(listed).toContain(`rampart CLI on ${AGENT}`);
    expect(listed).toContain(`cli_live_${accessToken.slice(9, 17)}`);
    expect(await page.content()).not.toContain(accessToken);
    await shot('device-03-cli-sessions');
    await page.getByRole('button', { name: `Revoke rampart CLI on ${AGENT}` }).click();
    await page.getByText('No CLI sessions.').waitFor();
    const refused = await fetch(`${srv.baseUrl}/api/cli/whoami`, {
      headers: { authorization: `Bearer ${accessToken}` },
    });
    expect(refused.status).toBe(401);
  });

  it('a request from another address is flagged plainly; a typed code (any case, no dash) can be denied', async () => {
    const cli = await startCli('203.0.113.9');
    // Signed out (the refresh cookie cleared): /device without a code returns to /device after sign-in.
    await page.context().clearCookies();
    await page.goto(`${srv.baseUrl}/device`);
    await page.waitForURL((u) => u.pathname === '/login' && u.searchParams.has('next'));
    await signIn();
    await page.waitForURL((u) => u.pathname === '/device');
    await page.getByRole('textbox', { name: 'Code' }).fill(cli.user_code.replace('-', '').toLowerCase());
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByTestId('device-request').waitFor();
    const warning = (await page.getByTestId('device-address-mismatch').textContent()) ?? '';
    expect(warning).toContain('203.0.113.9');
    expect(warning).toContain('127.0.0.1');
    await shot('device-04-address-mismatch');
    await page.getByRole('button', { name: 'Deny' }).click();
    await page.getByText('Denied.').waitFor();
    const r = await poll(cli.device_code);
    expect(r.status).toBe(400);
    expect(r.body.error).toBe('access_denied');
  });

  it('produced no console error, CSP violation or failed request', () => {
    expect(watched.problems).toEqual([]);
    // Apart from the signed-out visits' attempts to resume a sign-in (no refresh cookie: 401, by design).
    expect(watched.failed.filter((f) => f !== '401 POST /api/auth/session')).toEqual([]);
  });
});
