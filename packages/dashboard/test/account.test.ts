/**
 * The account page's actions in a real browser (Debian Chromium via playwright-core) against a real server:
 * change the e-mail address ("check your new inbox"), open the link from the mail on /confirm-email (token taken
 * out of the address bar, every session ended), sign in with the new address, then delete the account: refused
 * while the only owner of an org with another member (the org named), done once that member is gone. No console
 * error, no CSP violation, and the only failed requests the ones expected.
 */
import {
  type Account,
  addExistingMember,
  api,
  login,
  signup,
  tokenFromMail,
  uniqueEmail,
  verifyEmail,
  waitForMail,
} from '@rampart/testing';
import { artifactPath, browserTestsEnabled, openWatchedPage, type Watched } from '@rampart/testing/browser';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer } from '../../server/test/helpers.js';

type Srv = Awaited<ReturnType<typeof startTestServer>>;

describe.skipIf(!browserTestsEnabled)('dashboard account page (Chromium)', () => {
  let srv: Srv;
  let browser: Browser;
  let page: Page;
  let watched: Watched;
  let user: Account;
  let other: Account;
  const newEmail = uniqueEmail('acct-browser-new');
  const shot = (name: string) => page.screenshot({ path: artifactPath('dashboard', name), fullPage: true });

  const signIn = async (email: string) => {
    await page.goto(`${srv.baseUrl}/login`);
    await page.getByLabel('E-mail').fill(email);
    await page.getByLabel('Password').fill(user.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('link', { name: 'Account and security' }).click();
  };

  beforeAll(async () => {
    srv = await startTestServer('pglite');
    user = await signup(srv.baseUrl, { orgName: 'Account Page Org' });
    other = await signup(srv.baseUrl);
    ({ browser, page, watched } = await openWatchedPage());
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await srv?.close();
  });

  it('changes the e-mail address through the link sent to the new one', async () => {
    await signIn(user.email);
    const form = page.getByRole('form', { name: 'Change e-mail address' });
    await form.getByLabel('New e-mail address').fill(newEmail);
    await form.getByLabel('Current password').fill(user.password);
    await form.getByRole('button', { name: 'Send confirmation link' }).click();
    await expect
      .poll(() => form.getByTestId('email-change-sent').textContent())
      .toContain('Check your new inbox');
    expect(await form.getByLabel('Current password').inputValue()).toBe('');
    await shot('account-01-email-sent');

    const [mail] = await waitForMail(srv.mailer, newEmail);
    await page.goto(`${srv.baseUrl}/confirm-email#token=${tokenFromMail(mail?.text ?? '')}`);
    await expect.poll(() => page.getByTestId('email-confirmed').textContent()).toContain(newEmail);
    expect(new URL(page.url()).hash).toBe('');
    await shot('account-02-email-confirmed');
    expect(
      (await api(srv.baseUrl).post('/api/auth/login', { email: user.email, password: user.password })).status,
    ).toBe(401);
  });

  it('refuses to delete a sole owner with members, naming the org; deletes once they are alone', async () => {
    // Another member (invited, verified, accepted): the user is now the only owner of an org with members.
    await verifyEmail(srv, other.email);
    await addExistingMember(srv, await login(srv.baseUrl, newEmail), user.orgId, other, 'member');
    await signIn(newEmail);
    const form = page.getByRole('form', { name: 'Delete account' });
    await form.getByLabel('Current password').fill(user.password);
    const button = form.getByRole('button', { name: 'Delete my account' });
    expect(await button.isDisabled()).toBe(true);
    await form.getByLabel(`Type ${newEmail} to confirm`).fill(newEmail);
    await button.click();
    const alert = form.getByRole('alert');
    await expect
      .poll(() => alert.textContent())
      .toContain('make another member owner or delete the org first');
    expect(await alert.textContent()).toContain('Account Page Org');
    await shot('account-03-delete-refused');

    const owner = api(srv.baseUrl, await login(srv.baseUrl, newEmail));
    expect((await owner.del(`/api/orgs/${user.orgId}/members/${other.userId}`)).status).toBe(200);
    await form.getByLabel('Current password').fill(user.password);
    await button.click();
    await page.waitForURL((u) => u.pathname === '/login');
    expect(
      (await api(srv.baseUrl).post('/api/auth/login', { email: newEmail, password: user.password })).status,
    ).toBe(401);

    expect(watched.problems).toEqual([]);
    // The first visit's restore attempt finds no refresh cookie yet (401), then the refused deletion.
    expect(watched.failed.filter((f) => f !== '401 POST /api/auth/session')).toEqual(['409 DELETE /api/me']);
  });
});
