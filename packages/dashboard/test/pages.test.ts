/**
 * The jobs, widgets, database-connection and skills pages in a real browser (Debian Chromium via
 * playwright-core) against a real server on PGlite. The owner signs up through the API and signs in through the
 * UI (the session token lives in page memory only), then:
 * - seals a cloud connection string in the browser: the envelope in the database opens in Node with the same
 *   API key to exactly the typed string, and no request the page sent carried the string or the key;
 * - creates a job with a secret header and bearer auth, sees its next runs and only masked values, runs it now
 *   and sees the run history and the duration chart;
 * - creates a widget, uploads a document from a file, sees the quota bar and the embed snippet;
 * - registers a signing key from a .pub file and creates a runtime token, seen once;
 * and a viewer sees the pages without any create, edit, run or delete control. No console error, no CSP
 * violation and no inline style attribute anywhere. Screenshots go to artifacts/dashboard/pages-*.png.
 */
import { randomBytes } from 'node:crypto';
import {
  type Account,
  addMemberWithRole,
  api,
  type Member,
  signup,
  startTarget,
  type Target,
} from '@rampart/testing';
import { artifactPath, browserTestsEnabled, openWatchedPage, watchPage } from '@rampart/testing/browser';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConnectionEnvelope, openConnection } from '../../core/src/connseal/index.js';
import { startTestServer } from '../../server/test/helpers.js';
import { makePackage, makeSigner, upload } from '../../server/test/skills-support.js';

type Srv = Awaited<ReturnType<typeof startTestServer>>;
interface SentRequest {
  method: string;
  url: string;
  body: string;
  headers: Record<string, string>;
}

describe.skipIf(!browserTestsEnabled)(
  'dashboard pages: jobs, widgets, connections, skills (Chromium)',
  () => {
    let srv: Srv;
    let target: Target;
    let browser: Browser;
    let page: Page;
    let watched: { problems: string[] };
    let owner: Account;
    let viewer: Member;
    const sent: SentRequest[] = [];
    const shot = (p: Page, name: string) =>
      p.screenshot({ path: artifactPath('dashboard', `pages-${name}`), fullPage: true });

    async function signIn(p: Page, email: string, password: string): Promise<void> {
      const res = await p.goto(`${srv.baseUrl}/login`);
      expect(res?.headers()['content-security-policy']).toContain("style-src 'self'");
      await p.getByLabel('E-mail', { exact: true }).fill(email);
      await p.getByLabel('Password', { exact: true }).fill(password);
      await p.getByRole('button', { name: 'Sign in' }).click();
      await p.getByRole('navigation', { name: 'Main' }).getByText(email).waitFor();
    }

    /** Opens an org page from the navigation (client-side, no reload). */
    async function open(p: Page, link: string, heading: string): Promise<void> {
      await p
        .getByRole('navigation', { name: 'Main' })
        .getByRole('link', { name: link, exact: true })
        .click();
      await p.getByRole('heading', { level: 1, name: heading, exact: true }).waitFor();
      await expect.poll(() => p.getByText('Loading…').count()).toBe(0);
    }

    /** The app sets no style attribute (Playwright leaves an empty `style=""` on inputs it typed into). */
    const noInlineStyles = async (p: Page) => {
      const styled = await p
        .locator('[style]:not([style=""])')
        .evaluateAll((els) => els.map((e) => e.outerHTML.slice(0, 200)));
      expect(styled).toEqual([]);
    };

    beforeAll(async () => {
      target = await startTarget();
      // Jobs and the test connection point at loopback, which the outbound guard refuses unless allowed.
      srv = await startTestServer('pglite', { RAMPART_OUTBOUND_ALLOW: '127.0.0.1' });
      owner = await signup(srv.baseUrl, { orgName: 'Pages Corp' });
      viewer = await addMemberWithRole(srv, owner.token, owner.orgId, 'viewer');
      ({ browser, page, watched } = await openWatchedPage());
      page.on('dialog', (d) => void d.accept());
      page.on('request', (r) =>
        sent.push({ method: r.method(), url: r.url(), body: r.postData() ?? '', headers: r.headers() }),
      );
      await signIn(page, owner.email, owner.password);
    }, 60_000);
    afterAll(async () => {
      await browser?.close();
      await srv?.close();
      await target?.close();
    });

    it('seals a cloud connection in the browser: Node opens the stored envelope; the server never saw the string or the key', async () => {
      const key = await api(srv.baseUrl, owner.token).post<{ key: string }>(
        `/api/orgs/${owner.orgId}/api-keys`,
        { name: 'db reader' },
      );
      expect(key.status).toBe(201);
      const apiKey = key.body.key;
      const password = `S3cret-${randomBytes(6).toString('hex')}`;
      // Loopback and a closed port: a query fails fast (and is audited) without leaving this machine.
      const connString = `postgres://reader:${password}@127.0.0.1:9/sales?sslmode=disable`;

      await open(page, 'Database connections', 'Database connections');
      const before = sent.length;
      await page.getByLabel('Connection name', { exact: true }).fill('sales replica');
      await page.getByLabel('Connection string', { exact: true }).fill(connString);
      await page.getByLabel('API key that will run queries', { exact: true }).fill(apiKey);
      // Every progress text the page shows while sealing, caught as it is rendered (PBKDF2 may be quick).
      await page.evaluate(`(() => {
        const seen = (window.__sealProgress = []);
        new MutationObserver(() => {
          const text = document.querySelector('[data-testid="seal-progress"]')?.textContent;
          if (text && seen.at(-1) !== text) seen.push(text);
        }).observe(document.body, { subtree: true, childList: true, characterData: true });
      })()`);
      await page.getByRole('button', { name: 'Seal and add connection' }).click();
      await page.getByText('“sales replica” is registered.').waitFor({ timeout: 20_000 });
      await page.getByTestId('connections-table').getByText('sales replica').waitFor();
      expect(await page.getByLabel('Connection string', { exact: true }).inputValue()).toBe('');
      expect(await page.getByLabel('API key that will run queries', { exact: true }).inputValue()).toBe('');
      expect(await page.evaluate('window.__sealProgress')).toEqual([
        'Deriving the encryption key from your API key (PBKDF2, 600,000 rounds)…',
        'Sending the sealed envelope (ciphertext only)…',
      ]);

      // Interop: the envelope the browser made opens in Node (the server's own module) to the typed string.
      const { rows } = await srv.rampart.services.db.org(owner.orgId, (q) =>
        q.query<{ envelope: ConnectionEnvelope }>(
          'SELECT envelope FROM db_connections WHERE org_id = $1 AND name = $2',
          [owner.orgId, 'sales replica'],
        ),
      );
      const envelope = rows[0]?.envelope;
      expect(envelope?.kdf).toEqual({ name: 'PBKDF2', hash: 'SHA-256', iterations: 600_000 });
      expect(await openConnection(apiKey, envelope as ConnectionEnvelope)).toBe(connString);

      // What the page sent: one POST whose body is name, mode and the envelope; nothing carries the secrets.
      const mine = sent.slice(before);
      const posts = mine.filter((r) => r.method === 'POST' && r.url.endsWith('/connections'));
      expect(posts).toHaveLength(1);
      const body = JSON.parse(posts[0]?.body ?? '{}') as Record<string, unknown>;
      expect(Object.keys(body).sort()).toEqual(['mode', 'name', 'sealed']);
      expect(body.sealed).toEqual(envelope);
      for (const r of sent) {
        const everything = `${r.url}\n${r.body}\n${JSON.stringify(r.headers)}`;
        for (const secret of [connString, password, apiKey, apiKey.slice(8)])
          expect(everything.includes(secret), `${r.method} ${r.url} carries a secret`).toBe(false);
      }
      expect(await page.content()).not.toContain(password);

      // A query with that key (fails to connect: nothing listens) lands in the query audit; export works.
      const q = await api(srv.baseUrl, apiKey).request(
        'POST',
        `/api/orgs/${owner.orgId}/connections/${(await connectionId('sales replica')) ?? ''}/query`,
        { sql: 'SELECT $1::text', params: ['ann@example.org'] },
        { 'x-ai-model': 'test-model' },
      );
      expect(q.status).toBe(502);
      await page.getByRole('button', { name: 'Refresh', exact: true }).click();
      const audit = page.getByTestId('query-audit-table');
      await audit.getByText('test-model').waitFor();
      // The key's creator beside the key, and the parameter as the audit stores it: redacted.
      const shown = (await audit.textContent()) ?? '';
      expect(shown).toContain('bad_gateway');
      expect(shown).toContain(`user ${owner.userId.slice(0, 8)}`);
      expect(shown).toContain('"[EMAIL]"');
      expect(shown).not.toContain('ann@example.org');
      const [csv] = await Promise.all([
        page.waitForEvent('download'),
        page.getByRole('button', { name: 'Export CSV' }).click(),
      ]);
      expect(csv.suggestedFilename()).toBe(`query-audit-${owner.orgId}.csv`);

      // Agent mode: the token is shown once, with the command line, then gone from the page.
      await page.getByLabel('Connection name', { exact: true }).fill('warehouse agent');
      await page.getByLabel('Mode', { exact: true }).selectOption('agent');
      await page.getByRole('button', { name: 'Add agent connection' }).click();
      const agentToken = ((await page.getByTestId('revealed').textContent()) ?? '').trim();
      expect(agentToken).toMatch(/^ag_[A-Za-z0-9_-]{43}$/);
      expect(await page.getByTestId('agent-command').textContent()).toBe(
        `rampart agent --server ${srv.baseUrl} --token ${agentToken} --database-url 'postgres://reader@db.internal/sales'`,
      );
      await shot(page, 'connections');
      await page.getByRole('button', { name: 'I have stored it' }).click();
      await page.getByTestId('connections-table').getByText('warehouse agent').waitFor();
      expect(await page.content()).not.toContain(agentToken);
      await noInlineStyles(page);
    });

    async function connectionId(name: string): Promise<string | undefined> {
      const r = await api(srv.baseUrl, owner.token).get<{ connections: Array<{ id: string; name: string }> }>(
        `/api/orgs/${owner.orgId}/connections`,
      );
      return r.body.connections.find((c) => c.name === name)?.id;
    }

    it('creates a job with a cron helper, shows its next runs and only masked secrets, runs it and charts the history', async () => {
      const headerSecret = `hdr-${randomBytes(10).toString('hex')}`;
      const bearerSecret = `tok-${randomBytes(10).toString('hex')}`;
      await open(page, 'Scheduled jobs', 'Scheduled jobs');
      await page.getByRole('button', { name: 'New job' }).click();
      await page.getByLabel('Job name', { exact: true }).fill('nightly sync');
      const schedule = page.getByLabel('Schedule (cron)', { exact: true });
      await schedule.fill('0 * * *');
      expect(await page.getByTestId('cron-words').textContent()).toContain('exactly 5 fields');
      expect(await page.getByRole('button', { name: 'Create job' }).isDisabled()).toBe(true);
      await schedule.fill('0 * * * *');
      expect(await page.getByTestId('cron-words').textContent()).toBe('Every hour, every day.');
      await page.getByLabel('Time zone', { exact: true }).fill('UTC');
      await page.getByLabel('URL', { exact: true }).fill(`${target.origin}/flaky/pages/1`);
      await page.getByLabel('Method', { exact: true }).selectOption('POST');
      await page.getByRole('button', { name: 'Add header' }).click();
      await page.getByLabel('Header 1 name', { exact: true }).fill('X-Api-Key');
      await page.getByLabel('Header 1 value', { exact: true }).fill(headerSecret);
      await page.getByLabel('Authentication', { exact: true }).selectOption('bearer');
      await page.getByLabel('Bearer token', { exact: true }).fill(bearerSecret);
      await page.getByLabel('Body', { exact: true }).fill('{"full":true}');
      await page.getByLabel('Retries', { exact: true }).fill('0');
      await page.getByLabel('Store the start of each response', { exact: true }).check();
      await shot(page, 'jobs-form');
      await page.getByRole('button', { name: 'Create job' }).click();

      const detail = page.getByTestId('job-detail');
      await detail.getByRole('heading', { name: 'nightly sync' }).waitFor();
      await page.getByTestId('jobs-table').getByRole('button', { name: 'Open job nightly sync' }).waitFor();
      await expect.poll(() => detail.getByTestId('upcoming').locator('li').count()).toBe(5);
      expect(await detail.getByTestId('upcoming').textContent()).toMatch(/\(UTC\), (in \d+ \w+|now)/);
      const masked = (await detail.getByTestId('header-X-Api-Key').textContent()) ?? '';
      expect(masked).not.toBe('');
      expect(masked).not.toContain(headerSecret.slice(0, 12));
      expect((await detail.getByTestId('auth-masked').textContent()) ?? '').not.toContain(
        bearerSecret.slice(0, 12),
      );
      for (const secret of [headerSecret, bearerSecret]) expect(await page.content()).not.toContain(secret);

      // Run now twice: the flaky target answers 503, then 200. The runner is driven by hand in tests.
      for (const expected of ['failed', 'succeeded'] as const) {
        await detail.getByRole('button', { name: 'Run now' }).click();
        await detail.getByText('Run queued').waitFor();
        expect(await srv.rampart.services.jobRunner.tick()).toBe(1);
        await detail.getByRole('button', { name: 'Refresh history' }).click();
        await detail.getByTestId('runs-table').locator(`.status-${expected}`).first().waitFor();
      }
      expect(await detail.locator('svg.chart rect.bar-failed').count()).toBe(1);
      expect(await detail.locator('svg.chart rect.bar-succeeded').count()).toBe(1);
      // The target got the real values: they were stored, sealed, and are only masked on the way back.
      const hit = target.on('/flaky/pages').at(-1);
      expect(hit?.headers['x-api-key']).toBe(headerSecret);
      expect(hit?.headers.authorization).toBe(`Bearer ${bearerSecret}`);

      // Editing keeps the stored header and auth values unless they are replaced (PATCH without them).
      await detail.getByRole('button', { name: 'Edit' }).click();
      expect(await page.getByTestId('saved-next-runs').textContent()).toMatch(
        /^Saved schedule, next: .+\((in \d+ \w+|now)\)/,
      );
      await page.getByLabel('Job name', { exact: true }).fill('nightly sync v2');
      const patchAt = sent.length;
      await page.getByRole('button', { name: 'Save changes' }).click();
      await detail.getByRole('heading', { name: 'nightly sync v2' }).waitFor();
      const patch = sent.slice(patchAt).find((r) => r.method === 'PATCH');
      const patched = JSON.parse(patch?.body ?? '{}') as Record<string, unknown>;
      expect(patched.name).toBe('nightly sync v2');
      expect('headers' in patched || 'auth' in patched).toBe(false);
      expect(await detail.getByTestId('header-X-Api-Key').textContent()).toBe(masked);

      // An alert channel: a webhook with a generated secret, shown once, then masked.
      await page.getByLabel('Channel name', { exact: true }).fill('on-call');
      await page.getByLabel('Webhook URL', { exact: true }).fill(`${target.origin}/hook`);
      await page.getByRole('button', { name: 'Add channel' }).click();
      const whsec = ((await page.getByTestId('revealed').textContent()) ?? '').trim();
      expect(whsec).toMatch(/^whsec_/);
      await page.getByRole('button', { name: 'I have stored it' }).click();
      await page.getByTestId('channels-table').getByText('on-call').waitFor();
      expect(await page.content()).not.toContain(whsec);
      await shot(page, 'jobs');
      await noInlineStyles(page);
    });

    it('creates a widget, uploads a document from a file, and shows the quota bar and the embed snippet', async () => {
      await open(page, 'Chat widgets', 'Chat widgets');
      expect(await page.getByTestId('quota-text').textContent()).toBe('0 B of 1 MB used (0%)');
      await page.getByRole('button', { name: 'New widget' }).click();
      await page.getByLabel('Widget name', { exact: true }).fill('Help desk');
      await page.getByLabel('Model', { exact: true }).fill('gpt-4o-mini');
      await page
        .getByLabel('Allowed origins (one per line)', { exact: true })
        .fill('https://shop.example.com\nhttp://localhost:3000');
      await page.getByLabel('System prompt', { exact: true }).fill('You answer questions about the shop.');
      await page.getByRole('button', { name: 'Create widget' }).click();
      const detail = page.getByTestId('widget-detail');
      await detail.getByRole('heading', { name: 'Help desk' }).waitFor();

      const listed = await api(srv.baseUrl, owner.token).get<{ widgets: Array<{ id: string }> }>(
        `/api/orgs/${owner.orgId}/widgets`,
      );
      const id = listed.body.widgets[0]?.id ?? '';
      expect(await detail.getByTestId('embed-snippet').textContent()).toBe(
        `<script src="${srv.baseUrl}/widget.js" data-widget-id="${id}" async></script>`,
      );

      // ~150 KB of markdown, read from a file by the browser, so the quota bar visibly moves.
      const section = (i: number) =>
        `## Question ${i}\n\nOrders ship within two business days; returns are free for thirty days.\n\n`;
      const markdown = `# Shop FAQ\n\n${Array.from({ length: 1_600 }, (_, i) => section(i)).join('')}`;
      await detail.getByLabel('Read from a file (optional)', { exact: true }).setInputFiles({
        name: 'faq.md',
        mimeType: 'text/markdown',
        buffer: Buffer.from(markdown),
      });
      await expect
        .poll(() => detail.getByLabel('Document name', { exact: true }).inputValue())
        .toBe('faq.md');
      expect(await detail.getByLabel('Document text', { exact: true }).inputValue()).toBe(markdown);
      await detail.getByRole('button', { name: 'Upload document' }).click();
      await detail.getByTestId('documents-table').getByText('faq.md').waitFor({ timeout: 20_000 });

      const billing = await api(srv.baseUrl, owner.token).get<{ usage: { knowledgeBytes: number } }>(
        `/api/orgs/${owner.orgId}/billing`,
      );
      expect(billing.body.usage.knowledgeBytes).toBe(Buffer.byteLength(markdown));
      await expect
        .poll(() => page.getByTestId('quota-text').textContent())
        .toMatch(/^1\d\d(\.\d)? KB of 1 MB used \(1\d%\)$/);
      const bar = page.getByTestId('quota').locator('progress.bar');
      expect(Number(await bar.getAttribute('value'))).toBe(billing.body.usage.knowledgeBytes);
      expect(Number(await bar.getAttribute('max'))).toBe(1_000_000);
      expect(await page.getByRole('button', { name: 'New widget' }).isDisabled()).toBe(true);
      expect(await detail.getByTestId('embedding-status').textContent()).toContain('full-text search only');
      await shot(page, 'widgets');
      await noInlineStyles(page);

      // Vector search with a model no provider serves: the documents stay searchable by full text, and the page
      // says why nothing is embedded, with Retry now.
      await detail.getByRole('button', { name: 'Edit', exact: true }).click();
      await page.getByLabel('Embedding model (optional)', { exact: true }).fill('text-embedding-3-small');
      await page.getByLabel('Embedding size (optional)', { exact: true }).fill('12');
      await page.getByRole('button', { name: 'Save changes' }).click();
      await page.getByText('embeddingDimensions', { exact: false }).first().waitFor();
      await page.getByLabel('Embedding size (optional)', { exact: true }).fill('');
      await page.getByLabel('Keep conversations (days)', { exact: true }).fill('90');
      await page.getByRole('button', { name: 'Save changes' }).click();
      const status = detail.getByTestId('embedding-status');
      await status.getByRole('heading', { name: 'Vector search' }).waitFor();
      await status
        .getByRole('alert')
        .filter({ hasText: 'No provider serves this model' })
        .waitFor({ timeout: 20_000 });
      expect(await status.textContent()).toMatch(/text-embedding-3-small: 0 of \d+ passages embedded/);
      const saved = await api(srv.baseUrl, owner.token).get<{
        embeddingModel: string;
        embeddingDimensions: number | null;
        conversationRetentionDays: number;
      }>(`/api/orgs/${owner.orgId}/widgets/${id}`);
      expect(saved.body).toMatchObject({
        embeddingModel: 'text-embedding-3-small',
        embeddingDimensions: null,
        conversationRetentionDays: 90,
      });
      await status.getByRole('button', { name: 'Retry now' }).click();
      await expect.poll(() => status.getByRole('button', { name: 'Retry now' }).isEnabled()).toBe(true);
      await shot(page, 'widgets-embeddings');
      await noInlineStyles(page);
    });

    it('registers a signing key from a .pub file, lists signed packages, creates a runtime token seen once', async () => {
      const signer = makeSigner();
      await open(page, 'Skills', 'Skills');
      await page.getByLabel('Read a .pub file', { exact: true }).setInputFiles({
        name: 'ci.pub',
        mimeType: 'text/plain',
        buffer: Buffer.from(signer.publicKeyPem),
      });
      await expect.poll(() => page.getByLabel('Key name', { exact: true }).inputValue()).toBe('ci');
      await page.getByRole('button', { name: 'Register key' }).click();
      await page.getByTestId('signing-keys-table').getByText(signer.keyId.slice(0, 16)).waitFor();

      for (const v of [1, 2]) {
        const r = await upload(
          srv.baseUrl,
          owner.token,
          owner.orgId,
          await makePackage(signer, 'invoices', v),
        );
        expect(r.status, r.text).toBe(201);
      }
      await page.getByRole('button', { name: 'Refresh packages' }).click();
      const skills = page.getByTestId('skills-table');
      await skills.getByText('valid signature').waitFor();
      const cells = skills.locator('tbody tr').first().locator('td');
      expect(await cells.allTextContents()).toEqual([
        'invoices',
        'v2',
        '2',
        'valid signature',
        expect.any(String),
      ]);
      await skills.getByRole('button', { name: 'Show versions of invoices' }).click();
      await expect.poll(() => page.getByTestId('skill-versions').locator('tbody tr').count()).toBe(2);

      await page.getByLabel('Token name', { exact: true }).fill('ops laptop');
      await page.getByRole('button', { name: 'Create token' }).click();
      const token = ((await page.getByTestId('revealed').textContent()) ?? '').trim();
      expect(token).toMatch(/^rt_live_[1-9A-HJ-NP-Za-km-z]{32,44}$/);
      expect(await page.getByText('You will not see this again.').isVisible()).toBe(true);
      await shot(page, 'skills-token-once');
      await page.getByRole('button', { name: 'I have stored it' }).click();
      await page
        .getByTestId('runtime-tokens-table')
        .getByText(`rt_live_${token.slice(8, 16)}`)
        .waitFor();
      expect(await page.content()).not.toContain(token);

      // The runtime reports; the table shows it.
      const tel = await api(srv.baseUrl, token).post('/api/runtime/telemetry', {
        events: [
          {
            skill: 'invoices',
            version: 2,
            stepsTotal: 6,
            stepsOk: 6,
            stepsFailed: 0,
            durationMs: 4_200,
            outcome: 'succeeded',
            runtimeVersion: '1.4.2',
          },
          {
            skill: 'invoices',
            version: 2,
            stepsTotal: 6,
            stepsOk: 3,
            stepsFailed: 1,
            durationMs: 31_000,
            outcome: 'failed',
            errorCode: 'selector_timeout',
            runtimeVersion: '1.4.2',
          },
        ],
      });
      expect(tel.status).toBe(202);
      await page.getByRole('button', { name: 'Refresh telemetry' }).click();
      await page.getByTestId('telemetry-table').getByText('selector_timeout').waitFor();

      // Revoking the key marks what it signed.
      await page.getByRole('button', { name: 'Revoke signing key ci' }).click();
      await skills.getByText('signing key revoked').waitFor();
      await expect
        .poll(() => page.getByTestId('skill-versions').getByText('signing key revoked').count())
        .toBe(2);
      await shot(page, 'skills');
      await noInlineStyles(page);
    });

    it('creates an API key that only reads the audit (issue 26): listed with its scope, it streams the audit', async () => {
      await open(page, 'API keys', 'API keys');
      const form = page.getByRole('form', { name: 'Create API key' });
      await form.getByLabel('Key name').fill('siem export');
      for (const box of ['LLM gateway', 'Database queries', 'Publish skills'])
        await form.getByLabel(box, { exact: true }).uncheck();
      await form.getByLabel('Read the audit log', { exact: true }).check();
      await form.getByRole('button', { name: 'Create key' }).click();
      const key = ((await page.getByTestId('revealed').textContent()) ?? '').trim();
      expect(key).toMatch(/^rk_live_/);
      await page.getByRole('button', { name: 'I have stored it' }).click();
      const row = page.getByRole('row').filter({ hasText: 'siem export' });
      expect(await row.getByRole('cell', { name: 'audit.read', exact: true }).isVisible()).toBe(true);
      await shot(page, 'api-key-audit-scope');
      const stream = await api(srv.baseUrl, key).get(`/api/orgs/${owner.orgId}/audit?format=ndjson`);
      expect(stream.status, stream.text).toBe(200);
      expect(stream.text).toContain('"api_key.created"');
      // Only that: the gateway refuses it.
      expect((await api(srv.baseUrl, key).get('/v1/models')).status).toBe(403);
    });

    it('raised no console error or CSP violation on any page', () => {
      expect(watched.problems, watched.problems.join('\n')).toEqual([]);
    });

    it('shows a viewer the pages without create, edit, run or delete controls', async () => {
      const ctx = await browser.newContext();
      const vp = await ctx.newPage();
      const vw = await watchPage(vp);
      try {
        await signIn(vp, viewer.email, viewer.password);
        const nav = vp.getByRole('navigation', { name: 'Main' });
        // The viewer role cannot read connections (dbaccess.read): no link at all.
        expect(await nav.getByRole('link', { name: 'Database connections' }).count()).toBe(0);
        const forbidden =
          /^(New|Create|Add|Delete|Edit|Revoke|Register|Upload|Run now|Save|Remove|Replace|Seal)\b/;
        const controls = async () =>
          (await vp.getByRole('button').allTextContents()).filter((t) => forbidden.test(t.trim()));

        await open(vp, 'Scheduled jobs', 'Scheduled jobs');
        await vp.getByRole('button', { name: 'Open job nightly sync v2' }).click();
        await vp.getByTestId('job-detail').getByTestId('runs-table').waitFor();
        expect(await controls()).toEqual([]);
        expect(await vp.getByRole('form', { name: 'Add an alert channel' }).count()).toBe(0);
        await shot(vp, 'viewer-jobs');
        await noInlineStyles(vp);

        await open(vp, 'Chat widgets', 'Chat widgets');
        await vp.getByTestId('widget-detail').getByTestId('documents-table').waitFor();
        expect(await controls()).toEqual([]);
        expect(await vp.getByRole('form', { name: 'Add a document' }).count()).toBe(0);
        await shot(vp, 'viewer-widgets');

        await open(vp, 'Skills', 'Skills');
        await vp.getByTestId('signing-keys-table').waitFor();
        expect(await controls()).toEqual([]);
        expect(await vp.getByRole('heading', { name: 'Runtime tokens' }).count()).toBe(0);
        await shot(vp, 'viewer-skills');
        await noInlineStyles(vp);

        // Usage is for every role (usage.read); a viewer cannot list keys, so no budget section.
        await open(vp, 'Usage', 'Usage');
        await vp.getByTestId('usage-chart').waitFor();
        expect(await vp.getByTestId('usage-totals').textContent()).toBe(
          '0 requests, $0.0000 spent, 0 errors (last 7 days).',
        );
        expect(await vp.getByRole('heading', { name: 'Monthly budgets' }).count()).toBe(0);
        expect(await vp.getByRole('button', { name: 'Export CSV' }).isVisible()).toBe(true);
        await noInlineStyles(vp);
        expect(vw.problems, vw.problems.join('\n')).toEqual([]);
      } finally {
        await ctx.close();
      }
    });
  },
);
