/**
 * Mailed-link journeys in a real browser (Debian Chromium via playwright-core) against a real server whose mail
 * leaves over SMTP to a local smtp-server sink: the link each mail carries is opened exactly as received.
 * - forgot password -> mail -> link -> new password -> signed in -> the old password is refused;
 * - invite -> mail -> accept as a new person (choose a password) -> the member sees the org with their role;
 * - a used link shows a clear page offering a new link.
 */
import { type Account, api, freePort, PASSWORD, signup, uniqueEmail } from '@rampart/testing';
import { artifactPath, browserTestsEnabled, launchBrowser, watchPage } from '@rampart/testing/browser';
import { type SmtpSink, startSmtpSink } from '@rampart/testing/smtp';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer } from '../../server/test/helpers.js';

type Srv = Awaited<ReturnType<typeof startTestServer>>;

/** The link of the newest mail to `to` whose link goes to `page` (mail leaves asynchronously: polls, 10 s). */
async function linkFrom(sink: SmtpSink, to: string, page: string): Promise<string> {
  const re = new RegExp(`https?://[^\\s"<>]+/${page}#token=[A-Za-z0-9_-]+`);
  const deadline = Date.now() + 10_000;
  for (;;) {
    const mail = sink.mails.filter((m) => m.to.includes(to) && re.test(m.text)).at(-1);
    const link = mail ? re.exec(mail.text)?.[0] : undefined;
    if (link) return link;
    if (Date.now() > deadline) throw new Error(`no ${page} mail to ${to} within 10 s`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe.skipIf(!browserTestsEnabled)('mailed-link journeys (Chromium, SMTP)', () => {
  let srv: Srv;
  let sink: SmtpSink;
  let browser: Browser;
  let page: Page;
  let watched: Awaited<ReturnType<typeof watchPage>>;
  let owner: Account;
  const shot = (name: string) => page.screenshot({ path: artifactPath('mail', name), fullPage: true });

  beforeAll(async () => {
    sink = await startSmtpSink();
    const port = await freePort();
    srv = await startTestServer('pglite', {
      PORT: String(port),
      RAMPART_PUBLIC_URL: `http://127.0.0.1:${port}`,
      RAMPART_SMTP_URL: sink.url,
    });
    owner = await signup(srv.baseUrl, { orgName: 'Mail Journey Corp' });
    // The owner confirms the address through the link mailed at sign-up (over SMTP like every other mail).
    const verify = new URL(await linkFrom(sink, owner.email, 'verify-email'));
    const token = new URLSearchParams(verify.hash.slice(1)).get('token');
    expect((await api(srv.baseUrl, owner.token).post('/api/auth/verify-email', { token })).status).toBe(200);
    browser = await launchBrowser();
    page = await browser.newPage();
    page.setDefaultTimeout(10_000);
    watched = await watchPage(page);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await srv?.close();
    await sink?.close();
  });

  let resetLink = '';
  it('forgot password -> mail -> link -> new password -> signed in; the old password is refused', async () => {
    await page.goto(`${srv.baseUrl}/forgot`);
    await page.getByLabel('E-mail').fill(owner.email);
    await page.getByRole('button', { name: 'Send reset link' }).click();
    await page.getByText('a reset link is on its way').waitFor();
    resetLink = await linkFrom(sink, owner.email, 'reset-password');
    const mail = sink.mails.find((m) => m.text.includes(resetLink));
    expect(mail?.subject).toMatch(/reset/i);

    await page.goto(resetLink);
    await page.getByRole('heading', { name: 'Choose a new password' }).waitFor();
    // The token leaves the address bar at once.
    expect(page.url()).toBe(`${srv.baseUrl}/reset-password`);
    const next = 'Fresh-Mailbox-Password-77';
    await page.getByLabel('New password', { exact: true }).fill(next);
    await page.getByLabel('Confirm the new password').fill('something else entirely');
    await page.getByRole('button', { name: 'Set password and sign in' }).click();
    await page.getByText('The two passwords do not match.').waitFor();
    await page.getByLabel('Confirm the new password').fill(next);
    await page.getByRole('button', { name: 'Set password and sign in' }).click();
    await page.waitForURL(/\/orgs\/[0-9a-f-]{36}\/keys$/);
    await page.getByRole('heading', { name: 'API keys' }).waitFor();
    await shot('01-reset-signed-in');

    const old = await api(srv.baseUrl).post('/api/auth/login', { email: owner.email, password: PASSWORD });
    expect(old.status).toBe(401);
    const fresh = await api(srv.baseUrl).post<{ token: string }>('/api/auth/login', {
      email: owner.email,
      password: next,
    });
    expect(fresh.status).toBe(200);
    owner = { ...owner, token: fresh.body.token, password: next };
  });

  it('a used reset link shows a clear page that offers a new link', async () => {
    await page.goto(resetLink);
    await page.getByLabel('New password', { exact: true }).fill('Another-Password-Here-88');
    await page.getByLabel('Confirm the new password').fill('Another-Password-Here-88');
    await page.getByRole('button', { name: 'Set password and sign in' }).click();
    await page.getByRole('heading', { name: 'This reset link no longer works' }).waitFor();
    expect(await page.getByRole('button', { name: 'Send reset link' }).isVisible()).toBe(true);
    await shot('02-reset-link-used');
  });

  it('claiming an unconfirmed account through a reset says what was revoked and to review settings', async () => {
    const squatted = await signup(srv.baseUrl, { orgName: 'Squatted' });
    expect((await api(srv.baseUrl).post('/api/auth/forgot-password', { email: squatted.email })).status).toBe(
      202,
    );
    const link = await linkFrom(sink, squatted.email, 'reset-password');
    const context = await browser.newContext();
    const p = await context.newPage();
    p.setDefaultTimeout(10_000);
    await p.goto(link);
    await p.getByLabel('New password', { exact: true }).fill('Claimed-Back-Password-55');
    await p.getByLabel('Confirm the new password').fill('Claimed-Back-Password-55');
    await p.getByRole('button', { name: 'Set password and sign in' }).click();
    await p.getByRole('heading', { name: 'Your password is set' }).waitFor();
    expect(await p.getByText('Every API key and runtime token it had created was revoked').isVisible()).toBe(
      true,
    );
    expect(await p.getByText('review your organization’s model providers').isVisible()).toBe(true);
    await p.screenshot({ path: artifactPath('mail', '02b-claimed'), fullPage: true });
    await p.getByRole('button', { name: 'Continue to the dashboard' }).click();
    await p.waitForURL(new RegExp(`/orgs/${squatted.orgId}/keys$`));
    await context.close();
  });

  it('invite -> mail -> accept as a new person -> the member sees the org with their role', async () => {
    const invitee = uniqueEmail('invitee');
    const added = await api(srv.baseUrl, owner.token).post(`/api/orgs/${owner.orgId}/members`, {
      email: invitee,
      role: 'member',
    });
    expect(added.status).toBe(201);
    const link = await linkFrom(sink, invitee, 'accept-invite');
    const mail = sink.mails.find((m) => m.text.includes(link));
    expect(`${mail?.subject} ${mail?.text}`).toMatch(/invit/i);

    // A fresh browser context: the invitee is not the owner signed in above.
    const context = await browser.newContext();
    const p = await context.newPage();
    p.setDefaultTimeout(10_000);
    const w = await watchPage(p);
    await p.goto(link);
    await p.getByRole('heading', { name: 'Join Mail Journey Corp' }).waitFor();
    expect(p.url()).toBe(`${srv.baseUrl}/accept-invite`);
    expect(await p.getByText(owner.email).first().isVisible()).toBe(true);
    await p.getByLabel('New password', { exact: true }).fill(PASSWORD);
    await p.getByLabel('Confirm the new password').fill(PASSWORD);
    await p.getByRole('button', { name: 'Create account and join' }).click();
    await p.waitForURL(new RegExp(`/orgs/${owner.orgId}/`));
    await expect
      .poll(async () => p.getByLabel('Organization', { exact: true }).locator('option:checked').textContent())
      .toBe('Mail Journey Corp (member)');
    await p.screenshot({ path: artifactPath('mail', '03-invite-accepted'), fullPage: true });

    // The same link a second time: a clear page saying to ask for a new invitation.
    await p.goto(link);
    await p.getByRole('heading', { name: 'This invitation link no longer works' }).waitFor();
    expect(await p.getByText('Ask the person who invited you to send a new invitation.').isVisible()).toBe(
      true,
    );
    expect(w.problems, w.problems.join('\n')).toEqual([]);
    await context.close();
  });

  it('an existing account signs in on the invitation page, accepts, and lands in the org with its role', async () => {
    const other = await signup(srv.baseUrl, { orgName: 'Elsewhere' });
    const verify = new URL(await linkFrom(sink, other.email, 'verify-email'));
    const token = new URLSearchParams(verify.hash.slice(1)).get('token');
    expect((await api(srv.baseUrl, other.token).post('/api/auth/verify-email', { token })).status).toBe(200);
    const added = await api(srv.baseUrl, owner.token).post(`/api/orgs/${owner.orgId}/members`, {
      email: other.email,
      role: 'viewer',
    });
    expect(added.status).toBe(201);
    const link = await linkFrom(sink, other.email, 'accept-invite');
    const context = await browser.newContext();
    const p = await context.newPage();
    p.setDefaultTimeout(10_000);
    const w = await watchPage(p);
    await p.goto(link);
    await p.getByText(`An account already uses ${other.email}`).waitFor();
    await p.getByLabel('Password').fill(PASSWORD);
    await p.getByRole('button', { name: 'Sign in and accept' }).click();
    await p.waitForURL(new RegExp(`/orgs/${owner.orgId}/`));
    await expect
      .poll(async () => p.getByLabel('Organization', { exact: true }).locator('option:checked').textContent())
      .toBe('Mail Journey Corp (viewer)');
    expect(w.problems, w.problems.join('\n')).toEqual([]);
    await context.close();
  });

  it('a confirmation link opened signed out asks to sign in to its account first, then confirms', async () => {
    const later = await signup(srv.baseUrl, { orgName: 'Verify Later' });
    const link = await linkFrom(sink, later.email, 'verify-email');
    const context = await browser.newContext();
    const p = await context.newPage();
    p.setDefaultTimeout(10_000);
    const w = await watchPage(p);
    await p.goto(link);
    const form = p.getByRole('form', { name: 'Sign in to confirm' });
    // The page warns whoever did not create the account to reset the password rather than confirm.
    await form.getByRole('link', { name: 'Reset the password' }).waitFor();
    expect(new URL(p.url()).hash).toBe('');
    const me = () => api(srv.baseUrl, later.token).get<{ emailVerified: boolean }>('/api/me');
    expect((await me()).body.emailVerified).toBe(false);
    await form.getByLabel('E-mail').fill(later.email);
    await form.getByLabel('Password').fill(PASSWORD);
    await form.getByRole('button', { name: 'Sign in and confirm' }).click();
    await p.getByText('Your e-mail address is confirmed.').waitFor();
    expect((await me()).body.emailVerified).toBe(true);
    expect(w.problems, w.problems.join('\n')).toEqual([]);
    await context.close();
  });

  it('raised no console error or CSP violation and kept nothing in web storage', async () => {
    expect(watched.problems, watched.problems.join('\n')).toEqual([]);
    const stored = await page.evaluate('({ local: localStorage.length, session: sessionStorage.length })');
    expect(stored).toEqual({ local: 0, session: 0 });
  });
});
