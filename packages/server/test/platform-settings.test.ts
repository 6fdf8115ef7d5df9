/**
 * Platform settings (issue 27 part 1, docs/OPERATIONS.md "Platform settings"): an operator sets the Turnstile
 * keys, the billing webhook secret and plans, the SMTP URL and the security contact at run time; the values are
 * sealed at rest, changed on one node and in force on another at once (node bus, not the reload interval), an
 * environment variable wins over a stored value, every change is audited by name and never by value.
 */
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { api, PASSWORD, signup, uniqueEmail } from '@rampart/testing';
import { SMTP_PASS, startSmtpSink } from '@rampart/testing/smtp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RELOAD_MS } from '../src/platform/settings.js';
import { backfillSecrets } from '../src/secrets/backfill.js';
import { startTestServer } from './helpers.js';
import { dumpTables } from './leak-support.js';
import { operatorSession } from './operator-support.js';

const DB = process.env.TEST_DATABASE_URL;
type Srv = Awaited<ReturnType<typeof startTestServer>>;
type Err = { error: string; message: string };
interface View {
  key: string;
  env: string;
  source: 'env' | 'database' | 'unset';
  secret: boolean;
  value: string | null;
  stored: boolean;
  updatedAt: string | null;
}

const WEBHOOK_SECRET = 'whsec-platform-setting-Zq81xkP0';
const TURNSTILE_SECRET = 'turnstile-platform-secret-7Hq2';

/** Slack's and Teams' incoming webhooks, speaking their protocol: a JSON POST answered 200 (Slack "ok"). */
async function startHookReceiver() {
  const got: Array<{ path: string; body: Record<string, unknown> }> = [];
  const server = createServer((req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => {
      text += c.toString('utf8');
    });
    req.on('end', () => {
      got.push({ path: req.url ?? '', body: JSON.parse(text) as Record<string, unknown> });
      res.writeHead(200, { 'content-type': 'text/plain' }).end(req.url === '/slack' ? 'ok' : '1');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    got,
    url: (path: string) => `http://127.0.0.1:${port}${path}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** Polls `fn` until it returns true; well under the reload interval, so only the bus can make it true in time. */
async function eventually(fn: () => Promise<boolean>, ms = 3_000): Promise<number> {
  const start = Date.now();
  while (Date.now() - start < ms) {
    if (await fn()) return Date.now() - start;
    await sleep(25);
  }
  throw new Error(`not true within ${ms} ms`);
}

describe.skipIf(!DB)('platform settings on two nodes', () => {
  let nodeA: Srv;
  let nodeB: Srv;
  let op: string;
  let member: string;
  let smtp: Awaited<ReturnType<typeof startSmtpSink>>;
  let hooks: Awaited<ReturnType<typeof startHookReceiver>>;

  beforeAll(async () => {
    smtp = await startSmtpSink();
    hooks = await startHookReceiver();
    // The operators' Slack and Teams receivers are local stand-ins on loopback, allow-listed as a deployment
    // would allow-list a private receiver.
    const env = {
      RAMPART_OUTBOUND_ALLOW: '127.0.0.1',
      ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : {}),
    };
    nodeA = await startTestServer('postgres', env, undefined, { liveMailer: true });
    // Node B pins the Turnstile site key in its environment: the environment wins over the stored value.
    nodeB = await startTestServer(
      'postgres',
      { ...env, DATABASE_URL: nodeA.url as string, RAMPART_TURNSTILE_SITE_KEY: 'env-site-key' },
      undefined,
      { liveMailer: true },
    );
    op = (await operatorSession(nodeB.baseUrl, nodeB.rampart.services.db)).token;
    member = (await signup(nodeA.baseUrl, { email: uniqueEmail('member'), orgName: 'Tenant' })).token;
  });
  afterAll(async () => {
    await nodeB?.close();
    await nodeA?.close();
    await smtp?.close();
    await hooks?.close();
  });

  const settingOn = async (srv: Srv, key: string) => {
    const r = await api(srv.baseUrl, op).get<{ settings: View[] }>('/api/admin/settings');
    expect(r.status, r.text).toBe(200);
    const v = r.body.settings.find((s) => s.key === key);
    if (!v) throw new Error(`no ${key}`);
    return v;
  };

  it('is for TOTP-signed-in operators only', async () => {
    const m = api(nodeA.baseUrl, member);
    expect((await m.get<Err>('/api/admin/settings')).body.error).toBe('forbidden');
    const put = await m.put<Err>('/api/admin/settings/turnstile_site_key', { value: 'x' });
    expect([put.status, put.body.error]).toEqual([403, 'forbidden']);
    expect((await api(nodeA.baseUrl).get('/api/admin/settings')).status).toBe(401);
  });

  it('lists every setting with its variable and the source in force', async () => {
    const r = await api(nodeA.baseUrl, op).get<{ settings: View[] }>('/api/admin/settings');
    expect(r.body.settings.map((s) => [s.key, s.env])).toEqual([
      ['billing_webhook_secret', 'RAMPART_BILLING_WEBHOOK_SECRET'],
      ['billing_plans', 'RAMPART_BILLING_PLANS'],
      ['turnstile_secret', 'RAMPART_TURNSTILE_SECRET'],
      ['turnstile_site_key', 'RAMPART_TURNSTILE_SITE_KEY'],
      ['slack_webhook_url', 'RAMPART_SLACK_WEBHOOK_URL'],
      ['teams_webhook_url', 'RAMPART_TEAMS_WEBHOOK_URL'],
      ['smtp_url', 'RAMPART_SMTP_URL'],
      ['security_contact', 'RAMPART_SECURITY_CONTACT'],
    ]);
    expect(r.body.settings.every((s) => s.source === 'unset' && s.value === null)).toBe(true);
    expect((await settingOn(nodeB, 'turnstile_site_key')).source).toBe('env');
  });

  it('refuses values its variable would refuse, naming the setting and never echoing the value', async () => {
    const a = api(nodeA.baseUrl, op);
    const smtpBad = await a.put<Err>('/api/admin/settings/smtp_url', { value: 'ftp://u:hunter2-pass@x' });
    expect([smtpBad.status, smtpBad.body.error]).toEqual([400, 'validation_failed']);
    expect(smtpBad.text).not.toContain('hunter2-pass');
    const shortSecret = await a.put<Err>('/api/admin/settings/billing_webhook_secret', { value: 'short' });
    expect([shortSecret.status, shortSecret.body.error]).toEqual([400, 'validation_failed']);
    const plan = 'gold:variant=1:price=100:currency=USD:checkout=https://pay.example.com/gold';
    const unknownProduct = await a.put<Err>('/api/admin/settings/billing_plans', { value: plan });
    expect(unknownProduct.body.message).toContain('unknown product gold');
    const contact = await a.put<Err>('/api/admin/settings/security_contact', { value: 'not a uri' });
    expect(contact.body.error).toBe('validation_failed');
    expect((await a.put<Err>('/api/admin/settings/nope', { value: 'x' })).status).toBe(404);
    expect((await a.put<Err>('/api/admin/settings/smtp_url', {})).body.error).toBe('validation_failed');
    expect((await settingOn(nodeA, 'smtp_url')).stored).toBe(false);
  });

  it('a change on one node is in force on the other at once (bus), not after the reload interval', async () => {
    const b = api(nodeB.baseUrl, op);
    // Turnstile: off, so a sign-up on node A needs no challenge...
    const before = await api(nodeA.baseUrl).post('/api/auth/signup', {
      email: uniqueEmail('before'),
      password: PASSWORD,
      orgName: 'Before',
    });
    expect(before.status, before.text).toBe(201);
    const set = await b.put<{ setting: View }>('/api/admin/settings/turnstile_secret', {
      value: TURNSTILE_SECRET,
    });
    expect(set.status, set.text).toBe(200);
    expect(set.body.setting).toMatchObject({ source: 'database', secret: true, stored: true });
    expect(set.body.setting.value).not.toContain(TURNSTILE_SECRET.slice(0, 12));
    // ...then node A fails closed without a challenge token, well inside the reload interval.
    const took = await eventually(async () => {
      const r = await api(nodeA.baseUrl).post<Err>('/api/auth/signup', {
        email: uniqueEmail('after'),
        password: PASSWORD,
        orgName: 'After',
      });
      return r.status === 400 || r.status === 403;
    });
    expect(took).toBeLessThan(RELOAD_MS);

    // The site key: node A serves the stored one (and lets Turnstile in its CSP); node B keeps its environment's.
    await b.put('/api/admin/settings/turnstile_site_key', { value: 'stored-site-key' });
    await eventually(async () => {
      const r = await api(nodeA.baseUrl).get<{ turnstileSiteKey: string | null }>('/api/config');
      return r.body.turnstileSiteKey === 'stored-site-key';
    });
    const page = await fetch(`${nodeA.baseUrl}/login`);
    expect(page.headers.get('content-security-policy')).toContain('challenges.cloudflare.com');
    const onB = await api(nodeB.baseUrl).get<{ turnstileSiteKey: string | null }>('/api/config');
    expect(onB.body.turnstileSiteKey).toBe('env-site-key');
    expect(await settingOn(nodeB, 'turnstile_site_key')).toMatchObject({
      source: 'env',
      stored: true,
      value: 'env-site-key',
    });
    expect(await settingOn(nodeA, 'turnstile_site_key')).toMatchObject({
      source: 'database',
      value: 'stored-site-key',
    });

    // Clearing turns the challenge off again everywhere.
    expect((await b.del('/api/admin/settings/turnstile_secret')).status).toBe(200);
    await eventually(async () => {
      const r = await api(nodeA.baseUrl).post('/api/auth/signup', {
        email: uniqueEmail('cleared'),
        password: PASSWORD,
        orgName: 'Cleared',
      });
      return r.status === 201;
    });
  });

  it('the billing webhook verifies with the secret stored on another node', async () => {
    const body = JSON.stringify({ meta: { event_name: 'noop' } });
    const sign = (secret: string) => createHmac('sha256', secret).update(body).digest('hex');
    const hook = (secret: string) =>
      fetch(`${nodeA.baseUrl}/webhooks/billing`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-signature': sign(secret) },
        body,
      });
    expect((await hook(WEBHOOK_SECRET)).status).toBe(503);
    await api(nodeB.baseUrl, op).put('/api/admin/settings/billing_webhook_secret', { value: WEBHOOK_SECRET });
    // Signed with the stored secret: past the signature, refused only for its content.
    await eventually(async () => (await hook(WEBHOOK_SECRET)).status === 400);
    const forged = await hook('some-other-secret-123456');
    expect(forged.status).toBe(401);
  });

  it('mail leaves through the SMTP URL stored at run time, and security.txt names the stored contact', async () => {
    // Before: the development log mailer takes the sign-up's verification mail; nothing reaches the sink.
    const early = await signup(nodeA.baseUrl, { email: uniqueEmail('early'), orgName: 'Early' });
    await eventually(async () => {
      const { rows } = await nodeA.rampart.services.db.owner((q) =>
        q.query<{ n: number }>(`SELECT count(*)::int AS n FROM mail_outbox WHERE status <> 'sent'`),
      );
      return rows[0]?.n === 0;
    }, 10_000);
    await api(nodeB.baseUrl, op).put('/api/admin/settings/smtp_url', { value: smtp.url });
    await sleep(50);
    // After, on the other node: the next sign-up's verification mail leaves over SMTP.
    const user = await signup(nodeA.baseUrl, { email: uniqueEmail('smtp'), orgName: 'Mail' });
    const [mail] = await smtp.waitFor(user.email, 1, 10_000);
    expect(mail?.subject).toMatch(/confirm your e-mail/i);
    expect(smtp.mails.some((m) => m.to.includes(early.email))).toBe(false);

    await api(nodeB.baseUrl, op).put('/api/admin/settings/security_contact', {
      value: 'mailto:psirt@example.com,https://example.com/report',
    });
    await eventually(async () => {
      const txt = await (await fetch(`${nodeA.baseUrl}/.well-known/security.txt`)).text();
      return txt.includes('Contact: mailto:psirt@example.com\nContact: https://example.com/report');
    });
  });

  it('is sealed at rest, audited by name only, and never in logs or responses', async () => {
    const db = nodeA.rampart.services.db;
    const { text } = await dumpTables(db);
    for (const secret of [WEBHOOK_SECRET, TURNSTILE_SECRET, smtp.url, SMTP_PASS]) {
      expect(text).not.toContain(secret);
      expect(nodeA.logs.join('')).not.toContain(secret);
      expect(nodeB.logs.join('')).not.toContain(secret);
    }
    const list = await api(nodeA.baseUrl, op).get('/api/admin/settings');
    expect(list.text).not.toContain(WEBHOOK_SECRET);
    expect(list.text).not.toContain(SMTP_PASS);
    const rows = await db.owner((q) =>
      q.query<{ target: string; meta: Record<string, unknown>; org_id: string | null }>(
        `SELECT target, meta, org_id FROM audit_log WHERE action = 'platform.setting_updated' ORDER BY seq`,
      ),
    );
    expect(rows.rows.map((r) => r.target)).toEqual([
      'setting:turnstile_secret',
      'setting:turnstile_site_key',
      'setting:turnstile_secret',
      'setting:billing_webhook_secret',
      'setting:smtp_url',
      'setting:security_contact',
    ]);
    expect(rows.rows.every((r) => r.org_id === null)).toBe(true);
    const meta = rows.rows.map((r) => (typeof r.meta === 'string' ? JSON.parse(r.meta) : r.meta));
    // Set on node B, whose environment pins the site key: the row says so (the environment is per node).
    expect(meta[1]).toEqual({ setting: 'turnstile_site_key', change: 'set', overriddenByEnv: true });
    expect(meta[0]).toEqual({ setting: 'turnstile_secret', change: 'set', overriddenByEnv: false });
    expect(meta[2]).toMatchObject({ change: 'cleared' });
    expect(JSON.stringify(rows.rows)).not.toContain('stored-site-key');
  });

  it('posts each change to the operators’ Slack and Teams webhooks, naming the setting, never the value', async () => {
    const b = api(nodeB.baseUrl, op);
    await b.put('/api/admin/settings/slack_webhook_url', { value: hooks.url('/slack') });
    await b.put('/api/admin/settings/teams_webhook_url', { value: hooks.url('/teams') });
    await sleep(50);
    hooks.got.length = 0;
    await b.put('/api/admin/settings/billing_webhook_secret', { value: `${WEBHOOK_SECRET}-2` });
    await nodeB.rampart.services.operatorAlerts.settle();
    const slack = hooks.got.find((h) => h.path === '/slack');
    expect(slack?.body.text).toContain('platform setting set: billing_webhook_secret');
    const teams = hooks.got.find((h) => h.path === '/teams');
    const card = (
      (teams?.body.attachments ?? []) as Array<{ content: { type: string; body: unknown[] } }>
    )[0];
    expect(card?.content.type).toBe('AdaptiveCard');
    expect(JSON.stringify(card)).toContain('billing_webhook_secret');
    expect(JSON.stringify(hooks.got)).not.toContain(WEBHOOK_SECRET);
    // Stored secrets: the list shows masks, never the webhook URLs (they are credentials).
    const list = await b.get('/api/admin/settings');
    expect(list.text).not.toContain(hooks.url('/slack'));
    await b.del('/api/admin/settings/slack_webhook_url');
    await b.del('/api/admin/settings/teams_webhook_url');
  });

  it('the plaintext backfill seals a legacy plaintext row, and the node reads it back', async () => {
    const db = nodeA.rampart.services.db;
    await db.platform((q) =>
      q.query(`INSERT INTO platform_settings (key, value_sealed) VALUES ('slack_webhook_url', $1)`, [
        'https://hooks.slack.com/services/T000/B000/legacyPlaintext',
      ]),
    );
    const r = await backfillSecrets(db, nodeA.rampart.services.ring);
    expect(r.columns).toContainEqual({ column: 'platform_settings.value_sealed', sealed: 1 });
    expect((await dumpTables(db)).text).not.toContain('legacyPlaintext');
    await nodeA.rampart.services.settings.reload();
    expect(nodeA.rampart.services.settings.current().RAMPART_SLACK_WEBHOOK_URL).toBe(
      'https://hooks.slack.com/services/T000/B000/legacyPlaintext',
    );
  });
});
