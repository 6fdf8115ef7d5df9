/**
 * The operator console in a real browser (Debian Chromium via playwright-core) against a real server on PGlite:
 * - a platform operator signed in without TOTP sees the Operator area but a clear "sign in with two-factor
 *   authentication" message instead of any admin page (the server answers 403);
 * - with TOTP enrolled and a sign-in with the code, the operator searches an org, opens it (summary and tabs),
 *   suspends it with a typed reason (the button stays disabled while the reason is too short): an API key of that
 *   org is then refused with 403 `org_suspended` (a direct HTTP call from the test); resuming makes the same key
 *   work again; meanwhile the org's owner still signs in and reads under a "suspended" banner; both actions are
 *   in the org's own audit chain with the reason;
 * - the platform audit chain verifies;
 * - settings: the source of each (a variable set in the server's environment says "environment"), a secret typed
 *   into a password input is stored and from then on shown only masked, then cleared;
 * - a notice composed for the org (picked by search, reviewed, confirmed) reaches its owner through a real SMTP
 *   server, and the list's delivery status moves from queued to sent on its own;
 * - the other support actions from the org page, each behind a reason: resend an invitation (a second mail),
 *   revoke the API key (then refused), force a password reset for the owner (the old password stops working,
 *   a reset mail goes out).
 * No console error, no CSP violation, no inline style, nothing in web storage. Screenshots go to
 * artifacts/dashboard/operator-*.png.
 */
import { type Account, api, PASSWORD, signup, totpCode, uniqueEmail } from '@rampart/testing';
import { artifactPath, browserTestsEnabled, openWatchedPage, type Watched } from '@rampart/testing/browser';
import { type SmtpSink, startSmtpSink } from '@rampart/testing/smtp';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer } from '../../server/test/helpers.js';
import { FAST_MAIL } from '../../server/test/mail-support.js';

type Srv = Awaited<ReturnType<typeof startTestServer>>;

describe.skipIf(!browserTestsEnabled)('operator console journey (Chromium)', () => {
  let srv: Srv;
  let sink: SmtpSink;
  let browser: Browser;
  let page: Page;
  let watched: Watched;
  let operator: Account;
  let customer: Account;
  let apiKey = '';
  let totpSecret = '';
  const orgName = `Suspendable ${Date.now().toString(36)} Corp`;
  const reason = 'Abuse report #4711: the key is used for spam';
  const contact = 'mailto:security@rampart.example';
  const slackHook = `https://hooks.slack.com/services/T0000/B0000/${Date.now().toString(36)}Secret`;
  const sent: Array<{ method: string; url: string; body: string }> = [];
  const shot = (name: string) =>
    page.screenshot({ path: artifactPath('dashboard', `operator-${name}`), fullPage: true });

  /** An API call with the customer's API key: the models list answers 200 when the org may use its keys. */
  const keyCall = async () => {
    const r = await fetch(`${srv.baseUrl}/v1/models`, { headers: { authorization: `Bearer ${apiKey}` } });
    return { status: r.status, body: (await r.json()) as { error?: string; message?: string } };
  };

  const operatorNav = () => page.getByRole('list', { name: 'Operator' });

  async function signIn(code?: string): Promise<void> {
    await page.goto(`${srv.baseUrl}/login`);
    await page.getByLabel('E-mail', { exact: true }).fill(operator.email);
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    if (code !== undefined) {
      await page.getByLabel('Authentication code').fill(code);
      await page.getByRole('button', { name: 'Verify' }).click();
    }
    await page.getByRole('navigation', { name: 'Main' }).getByText(operator.email).waitFor();
  }

  beforeAll(async () => {
    sink = await startSmtpSink();
    srv = await startTestServer('pglite', {
      ...FAST_MAIL,
      RAMPART_SMTP_URL: sink.url,
      RAMPART_SECURITY_CONTACT: contact,
    });
    customer = await signup(srv.baseUrl, { orgName });
    const key = await api(srv.baseUrl, customer.token).post<{ key: string }>(
      `/api/orgs/${customer.orgId}/api-keys`,
      { name: 'customer backend' },
    );
    expect(key.status, key.text).toBe(201);
    apiKey = key.body.key;
    operator = await signup(srv.baseUrl, { email: uniqueEmail('operator'), orgName: 'Support Desk' });
    // What `rampart admin create-operator` does for an existing account.
    await srv.rampart.services.db.owner((q) =>
      q.query('UPDATE users SET is_operator = true WHERE id = $1', [operator.userId]),
    );
    ({ browser, page, watched } = await openWatchedPage());
    page.setDefaultTimeout(10_000);
    page.on('request', (r) => sent.push({ method: r.method(), url: r.url(), body: r.postData() ?? '' }));
    page.on('dialog', (d) => void d.accept());
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await srv?.close();
    await sink?.close();
  });

  it('without a TOTP sign-in the console explains what to do instead of showing admin pages', async () => {
    await signIn();
    await operatorNav().getByRole('link', { name: 'Organizations' }).click();
    const note = page.getByTestId('operator-needs-totp');
    await note.waitFor();
    expect(await note.textContent()).toContain(
      'The operator console needs a sign-in with two-factor authentication.',
    );
    expect(await note.getByRole('link', { name: 'Account and security' }).isVisible()).toBe(true);
    expect(await page.getByTestId('operator-orgs').count()).toBe(0);
    await shot('01-needs-totp');
  });

  it('a member who is not an operator has no Operator area', async () => {
    const other = await browser.newPage();
    other.setDefaultTimeout(8_000);
    try {
      await other.goto(`${srv.baseUrl}/login`);
      await other.getByLabel('E-mail', { exact: true }).fill(customer.email);
      await other.getByLabel('Password', { exact: true }).fill(PASSWORD);
      await other.getByRole('button', { name: 'Sign in' }).click();
      await other.getByRole('navigation', { name: 'Main' }).getByText(customer.email).waitFor();
      expect(await other.getByRole('list', { name: 'Operator' }).count()).toBe(0);
      await other.goto(`${srv.baseUrl}/operator/orgs`);
      await other.getByRole('heading', { name: 'Not found' }).waitFor();
    } finally {
      await other.close();
    }
  });

  it('enrols TOTP, signs in with the code and lists the orgs', async () => {
    const s = api(srv.baseUrl, operator.token);
    const enroll = await s.post<{ secret: string }>('/api/auth/totp/enroll', { password: PASSWORD });
    expect(enroll.status, enroll.text).toBe(200);
    totpSecret = enroll.body.secret;
    const confirm = await s.post('/api/auth/totp/confirm', { code: totpCode(totpSecret) });
    expect(confirm.status, confirm.text).toBe(200);
    await page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Account and security' })
      .click();
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await page.waitForURL('**/login');
    // The confirm used this step's code; the next one is inside the ±1 window and not used yet.
    await signIn(totpCode(totpSecret, 1));
    await operatorNav().getByRole('link', { name: 'Organizations' }).click();
    await page.getByRole('heading', { level: 1, name: 'Organizations' }).waitFor();
    const table = page.getByTestId('operator-orgs');
    await table.getByRole('link', { name: 'Support Desk' }).waitFor();
    expect(await table.getByRole('link', { name: orgName }).count()).toBe(1);
  });

  it('searches an org and opens it: summary, members and credentials', async () => {
    await page.getByLabel('Search', { exact: true }).fill('suspendable');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    const table = page.getByTestId('operator-orgs');
    await expect.poll(() => table.getByRole('link', { name: 'Support Desk' }).count()).toBe(0);
    expect(await table.locator('tbody tr').count()).toBe(1);
    const row = table.locator('tbody tr').first();
    expect(await row.textContent()).toContain('1 API key');
    await shot('02-orgs-search');
    await row.getByRole('link', { name: orgName }).click();
    await page.getByRole('heading', { level: 1, name: `Organization: ${orgName}` }).waitFor();
    expect(page.url()).toBe(`${srv.baseUrl}/operator/orgs/${customer.orgId}`);
    const facts = page.getByTestId('org-summary');
    expect(await facts.textContent()).toContain(customer.orgId);
    expect(await facts.textContent()).toContain('Active');
    await page.getByTestId('org-members').getByText(customer.email).waitFor();
    const tabs = page.getByRole('navigation', { name: 'Organization data' });
    await tabs.getByRole('link', { name: 'Credentials' }).click();
    await page.getByTestId('org-credentials').getByText('customer backend').waitFor();
    // The table shows the public prefix, never the key.
    expect(await page.content()).not.toContain(apiKey);
    expect(await tabs.getByRole('link', { name: 'Credentials' }).getAttribute('aria-current')).toBe('page');
  });

  it('suspends the org with a typed reason; its API key is refused with 403 org_suspended', async () => {
    expect((await keyCall()).status).toBe(200);
    await page.getByRole('button', { name: 'Suspend organization' }).click();
    const dialog = page.getByRole('dialog', { name: `Suspend ${orgName}` });
    await dialog.waitFor();
    const confirm = dialog.getByRole('button', { name: 'Suspend organization' });
    expect(await confirm.isDisabled()).toBe(true);
    await dialog.getByLabel('Reason').fill('   too short   ');
    expect(await confirm.isDisabled()).toBe(true);
    expect(await dialog.getByLabel('Reason').getAttribute('aria-invalid')).toBe('true');
    await dialog.getByLabel('Reason').fill('x'.repeat(501));
    expect(await confirm.isDisabled()).toBe(true);
    await dialog.getByLabel('Reason').fill(reason);
    expect(await confirm.isDisabled()).toBe(false);
    await shot('03-suspend-dialog');
    await confirm.click();
    await page.getByTestId('org-suspended').waitFor();
    expect(await dialog.count()).toBe(0);
    expect(await page.getByTestId('org-suspended').textContent()).toContain(reason);
    expect(await page.getByTestId('org-summary').getByTestId('suspended-badge').textContent()).toBe(
      'Suspended',
    );
    await shot('04-suspended');

    const refused = await keyCall();
    expect(refused.status).toBe(403);
    expect(refused.body.error).toBe('org_suspended');

    // The org's owner still signs in and reads, under a banner that says the org is suspended.
    const member = await browser.newPage();
    try {
      member.setDefaultTimeout(10_000);
      await member.goto(`${srv.baseUrl}/login`);
      await member.getByLabel('E-mail', { exact: true }).fill(customer.email);
      await member.getByLabel('Password', { exact: true }).fill(PASSWORD);
      await member.getByRole('button', { name: 'Sign in' }).click();
      const banner = member.getByTestId('org-suspended-banner');
      await banner.waitFor();
      expect(await banner.textContent()).toContain('This organization is suspended');
      await member.getByRole('cell', { name: 'customer backend', exact: true }).waitFor();
      await member.screenshot({
        path: artifactPath('dashboard', 'operator-04b-member-banner'),
        fullPage: true,
      });
    } finally {
      await member.close();
    }

    // The org list says so too.
    await operatorNav().getByRole('link', { name: 'Organizations' }).click();
    await page.getByLabel('Search', { exact: true }).fill(customer.orgId);
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    const row = page.getByTestId('operator-orgs').locator('tbody tr');
    await expect.poll(() => row.count()).toBe(1);
    await row.getByTestId('suspended-badge').waitFor();
    await row.getByRole('link', { name: orgName }).click();
    await page.getByTestId('org-suspended').waitFor();
  });

  it('resumes the org with a reason; the same key works again; both actions are in the org audit', async () => {
    // Escape closes the dialog and does nothing.
    await page.getByRole('button', { name: 'Resume organization' }).click();
    const dialog = page.getByRole('dialog', { name: `Resume ${orgName}` });
    await dialog.waitFor();
    await page.keyboard.press('Escape');
    await expect.poll(() => dialog.count()).toBe(0);
    expect((await keyCall()).status).toBe(403);
    await page.getByRole('button', { name: 'Resume organization' }).click();
    await dialog.getByLabel('Reason').fill('Customer rotated the key and confirmed in ticket #4711');
    await dialog.getByRole('button', { name: 'Resume organization' }).click();
    await page.getByRole('button', { name: 'Suspend organization' }).waitFor();
    expect(await page.getByTestId('org-suspended').count()).toBe(0);
    expect((await keyCall()).status).toBe(200);

    await page
      .getByRole('navigation', { name: 'Organization data' })
      .getByRole('link', { name: 'Audit' })
      .click();
    const audit = page.getByTestId('org-audit');
    await audit.getByText(reason).waitFor();
    const text = (await audit.textContent()) ?? '';
    expect(text).toContain('ticket #4711');
    expect(text).not.toContain(apiKey);
    await shot('05-org-audit');
  });

  it('verifies the platform audit chain', async () => {
    await operatorNav().getByRole('link', { name: 'Platform audit' }).click();
    await page.getByRole('heading', { level: 1, name: 'Platform audit' }).waitFor();
    await page.getByTestId('platform-audit').locator('tbody tr').first().waitFor();
    await page.getByRole('button', { name: 'Verify', exact: true }).click();
    await expect
      .poll(() => page.getByTestId('platform-chain-status').textContent())
      .toMatch(/^Hash chain verified: [1-9]\d* entries, no tampering found\.$/);
    await shot('06-platform-audit');
  });

  it('settings: the source of each; a secret is entered in a password input, shown masked, then cleared', async () => {
    await operatorNav().getByRole('link', { name: 'Platform settings' }).click();
    const table = page.getByTestId('platform-settings');
    await table.waitFor();
    expect(await table.locator('tbody tr').count()).toBe(8);
    expect(await page.getByTestId('source-security_contact').textContent()).toBe('environment');
    expect(await page.getByTestId('value-security_contact').textContent()).toBe(contact);
    expect(await page.getByTestId('source-slack_webhook_url').textContent()).toBe('unset');

    const input = page.getByLabel('New value for Operators’ Slack incoming webhook');
    expect(await input.getAttribute('type')).toBe('password');
    await input.fill(slackHook);
    await page.getByRole('button', { name: 'Save Operators’ Slack incoming webhook' }).click();
    await expect.poll(() => page.getByTestId('source-slack_webhook_url').textContent()).toBe('database');
    expect(await input.inputValue()).toBe('');
    const masked = (await page.getByTestId('value-slack_webhook_url').textContent()) ?? '';
    expect(masked).not.toBe('');
    expect(masked).not.toContain(slackHook.slice(-12));
    expect(await page.content()).not.toContain(slackHook);
    // Only the PUT carried the value; no answer the page read did (the page shows what the server returned).
    const carrying = sent.filter((r) => r.body.includes(slackHook) || r.url.includes(slackHook));
    expect(carrying.map((r) => r.method)).toEqual(['PUT']);
    await shot('07-settings');

    await page.getByRole('button', { name: 'Clear Operators’ Slack incoming webhook' }).click();
    await expect.poll(() => page.getByTestId('source-slack_webhook_url').textContent()).toBe('unset');
  });

  it('composes a notice for the org; it reaches the owner over SMTP and the status turns to sent', async () => {
    const subject = `Scheduled maintenance ${Date.now().toString(36)}`;
    await operatorNav().getByRole('link', { name: 'Incident notices' }).click();
    const form = page.getByRole('form', { name: 'Compose a notice' });
    await form.getByLabel('Find organizations').fill('suspendable');
    // The search runs once typing pauses: the operator's own org leaves the list.
    await expect.poll(() => form.getByRole('checkbox', { name: 'Support Desk' }).count()).toBe(0);
    const pick = form.getByRole('checkbox', { name: orgName });
    await pick.check();
    await form.getByLabel('Subject').fill(subject);
    await form
      .getByLabel('Message')
      .fill('The database will be read-only on Sunday from 02:00 to 02:30 UTC.');
    await form.getByRole('button', { name: 'Review notice' }).click();
    const confirm = page.getByRole('alertdialog');
    expect(await confirm.textContent()).toContain(`Send “${subject}” to 1 organization`);
    expect(await confirm.textContent()).toContain(orgName);
    await shot('08-notice-confirm');
    await confirm.getByRole('button', { name: 'Send notice' }).click();
    await page.getByText('Notice queued for 1 recipient in 1 organization.').waitFor();

    const row = page.getByTestId('notices').locator('tbody tr', { hasText: subject });
    await expect
      .poll(() => row.getByTestId('notice-status').textContent(), { timeout: 20_000 })
      .toBe('delivered 1 sent · 0 queued · 0 failed');
    await expect
      .poll(
        () => sink.mails.filter((m) => m.to.includes(customer.email) && m.subject.includes(subject)).length,
      )
      .toBe(1);
    const perOrg = page.getByTestId('notice-orgs');
    await perOrg.getByRole('cell', { name: orgName }).waitFor();
    await shot('09-notices');
  });

  it('resends an invitation, revokes a credential and forces a password reset, each with a reason', async () => {
    const invitee = uniqueEmail('invitee');
    const inv = await api(srv.baseUrl, customer.token).post(`/api/orgs/${customer.orgId}/members`, {
      email: invitee,
      role: 'member',
    });
    expect(inv.status, inv.text).toBe(201);
    const mailsTo = (to: string) => sink.mails.filter((m) => m.to.includes(to));
    await expect.poll(() => mailsTo(invitee).length, { timeout: 10_000 }).toBe(1);

    await operatorNav().getByRole('link', { name: 'Organizations' }).click();
    await page.getByTestId('operator-orgs').getByRole('link', { name: orgName }).click();
    const tabs = page.getByRole('navigation', { name: 'Organization data' });

    await tabs.getByRole('link', { name: 'Invitations' }).click();
    await page.getByRole('button', { name: `Resend the invitation of ${invitee}` }).click();
    let dialog = page.getByRole('dialog', { name: `Resend the invitation of ${invitee}` });
    await dialog.getByLabel('Reason').fill('Customer says the first mail never arrived');
    await dialog.getByRole('button', { name: 'Resend invitation' }).click();
    await page.getByText(`The invitation of ${invitee} is sent again.`).waitFor();
    await expect.poll(() => mailsTo(invitee).length, { timeout: 10_000 }).toBe(2);

    await tabs.getByRole('link', { name: 'Credentials' }).click();
    await page.getByRole('button', { name: 'Revoke API key customer backend' }).click();
    dialog = page.getByRole('dialog', { name: 'Revoke API key “customer backend”' });
    await dialog.getByLabel('Reason').fill('The key was posted in a public repository');
    await dialog.getByRole('button', { name: 'Revoke credential' }).click();
    await page.getByText('API key “customer backend” is revoked.').waitFor();
    expect((await keyCall()).status).toBe(401);
    await expect
      .poll(() => page.getByRole('button', { name: 'Revoke API key customer backend' }).count())
      .toBe(0);

    const resetsBefore = mailsTo(customer.email).filter((m) => /reset/i.test(m.subject)).length;
    await tabs.getByRole('link', { name: 'Members' }).click();
    await page.getByRole('button', { name: `Force a password reset for ${customer.email}` }).click();
    dialog = page.getByRole('dialog', { name: `Force a password reset for ${customer.email}` });
    await dialog.getByLabel('Reason').fill('Account takeover suspected, ticket #4712');
    await dialog.getByRole('button', { name: 'Force password reset' }).click();
    await page.getByText(`A password reset is queued for ${customer.email}.`).waitFor();
    const old = await api(srv.baseUrl).post('/api/auth/login', { email: customer.email, password: PASSWORD });
    expect(old.status).toBe(401);
    await expect
      .poll(() => mailsTo(customer.email).filter((m) => /reset/i.test(m.subject)).length, { timeout: 10_000 })
      .toBe(resetsBefore + 1);

    await tabs.getByRole('link', { name: 'Audit' }).click();
    const audit = page.getByTestId('org-audit');
    for (const words of ['first mail never arrived', 'public repository', 'operator.password_reset_forced'])
      await audit.getByText(words).first().waitFor();
    // A forced reset's reason stays on the platform chain: the person's orgs may have nothing to do with it.
    expect(await audit.getByText('ticket #4712').count()).toBe(0);
    await operatorNav().getByRole('link', { name: 'Platform audit' }).click();
    await page.getByText('ticket #4712').first().waitFor();
  });

  it('raised no console error or CSP violation, set no inline style and kept nothing in web storage', async () => {
    const styled = await page
      .locator('[style]:not([style=""])')
      .evaluateAll((els) => els.map((e) => e.outerHTML.slice(0, 200)));
    expect(styled).toEqual([]);
    const stored = await page.evaluate('({ local: localStorage.length, session: sessionStorage.length })');
    expect(stored).toEqual({ local: 0, session: 0 });
    expect(watched.problems, watched.problems.join('\n')).toEqual([]);
    // The refused admin call before TOTP, the password step of the TOTP sign-in, the first session restores.
    expect(watched.failed.filter((f) => !f.endsWith('/api/auth/session'))).toEqual([
      '403 GET /api/admin/orgs',
      '401 POST /api/auth/login',
    ]);
  });
});
