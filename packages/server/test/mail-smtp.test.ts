/**
 * The outbox end to end through a real SMTP server on loopback (@rampart/testing/smtp, parsed by mailparser):
 * every template arrives with text and HTML parts; a password reset link from the HTTP API works; a 4xx then
 * accept delivers once; a 5xx fails at once (an e-mail alert is audited job.alert_failed, never job.alert_sent);
 * 4xx until the attempts run out fails; no link token is ever in the database and the SMTP password is never in
 * a log line, a delivery record or an error.
 */
import {
  type Account,
  api,
  createPgDatabase,
  PASSWORD,
  signup,
  startTarget,
  type Target,
  uniqueEmail,
} from '@rampart/testing';
import { SMTP_PASS, SMTP_USER, type SmtpSink, startSmtpSink } from '@rampart/testing/smtp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueueMail } from '../src/mail/outbox.js';
import { SmtpMailer } from '../src/mail/smtp.js';
import { type MailTemplate, renderMail, type SecurityEvent } from '../src/mail/templates.js';
import { describeError } from '../src/mail/worker.js';
import { ENGINES } from './helpers.js';
import { dumpAllTables, FAST_MAIL, type MailServer, outbox, startMailServer } from './mail-support.js';

const LINK_TOKEN = 'tok-PLAINTEXT-link-0123456789abcdefghijklmnop';
const EVENTS: SecurityEvent[] = [
  'password_changed',
  'password_reset',
  'email_changed',
  'totp_disabled',
  'recovery_codes_issued',
  'provider_linked',
  'provider_unlinked',
  'account_deleted',
];

/** Each template with the words its mail must carry (checked in the text part and the HTML part). */
const SAMPLES: Array<{ t: MailTemplate; must: string[] }> = [
  {
    t: {
      kind: 'password_reset',
      link: `https://rampart.test/reset-password#token=${LINK_TOKEN}`,
      minutes: 30,
    },
    must: ['reset', '30 minutes', `https://rampart.test/reset-password#token=${LINK_TOKEN}`],
  },
  {
    t: { kind: 'email_verification', link: 'https://rampart.test/verify#token=v123', hours: 24 },
    must: ['Confirm', '24 hours', 'https://rampart.test/verify#token=v123'],
  },
  {
    t: {
      kind: 'invitation',
      link: 'https://rampart.test/invite#token=i123',
      days: 7,
      orgName: 'Acme & <Sons>',
      inviter: 'Jane Doe',
      role: 'admin',
    },
    must: ['Acme & <Sons>', 'Jane Doe', 'admin', '7 days', 'https://rampart.test/invite#token=i123'],
  },
  {
    t: {
      kind: 'email_change',
      link: 'https://rampart.test/confirm-email#token=c123',
      hours: 24,
      newEmail: 'new@example.test',
    },
    must: ['new@example.test', 'https://rampart.test/confirm-email#token=c123'],
  },
  ...EVENTS.map((event) => ({
    t: { kind: 'security_notice', event, at: '2026-12-07T10:00:00Z', detail: 'GitHub' } as MailTemplate,
    must: ['2026-12-07T10:00:00Z', 'If this was not you'],
  })),
  {
    t: { kind: 'job_alert', alert: 'job.failed', jobName: 'nightly <sync>', body: 'Job "nightly" failed.' },
    must: ['Job "nightly" failed.', 'alert channel'],
  },
  {
    t: {
      kind: 'incident_notice',
      subject: 'Incident report',
      body: 'What happened: <i>an outage</i> & more.\nSecond line.\n\nWhat to do: nothing.',
      orgName: 'Acme & <Sons>',
      role: 'admin',
    },
    must: [
      'What happened: <i>an outage</i> & more.',
      'What to do: nothing.',
      'admin of the org "Acme & <Sons>"',
    ],
  },
  { t: { kind: 'test', at: '2026-12-07T10:00:00Z', node: 'node-a' }, must: ['test mail', 'node-a'] },
];

const htmlEscape = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

describe.each(ENGINES)('mail over SMTP (%s)', (engine) => {
  let sink: SmtpSink;
  let srv: MailServer;
  let target: Target;
  let owner: Account;
  let drop: (() => Promise<void>) | undefined;

  const enqueue = (to: string, t: MailTemplate, extra: { orgId?: string } = {}) =>
    srv.db.platform((q) => enqueueMail(q, srv.rampart.services.ring, { to, template: t, ...extra }));
  const rowOf = async (id: string) => (await outbox(srv.db, 'id = $1', [id]))[0];

  beforeAll(async () => {
    sink = await startSmtpSink();
    target = await startTarget();
    let databaseUrl: string | undefined;
    if (engine === 'postgres') {
      const d = await createPgDatabase();
      databaseUrl = d.url;
      drop = d.drop;
    }
    srv = await startMailServer(
      {
        ...FAST_MAIL,
        RAMPART_SMTP_URL: sink.url,
        RAMPART_MAIL_FROM: 'Rampart Test <no-reply@rampart.test>',
        RAMPART_PUBLIC_URL: 'https://rampart.test',
        RAMPART_OUTBOUND_ALLOW: '127.0.0.1',
      },
      databaseUrl ? { databaseUrl } : {},
    );
    owner = await signup(srv.baseUrl);
    // The sign-up's own verification mail arrives first; the tests below count only what they cause.
    await sink.waitFor(owner.email);
  });
  afterAll(async () => {
    await srv?.close();
    await drop?.();
    await sink?.close();
    await target?.close();
  });

  it('every template arrives once, from RAMPART_MAIL_FROM, with text and HTML parts carrying its content', async () => {
    const sent = SAMPLES.map((s, i) => ({ ...s, to: `tpl-${i}-${engine}@example.test` }));
    for (const s of sent) await enqueue(s.to, s.t);
    for (const s of sent) {
      const [m, ...more] = await sink.waitFor(s.to);
      expect(more).toHaveLength(0);
      const r = renderMail(s.t);
      expect(m?.from).toBe('no-reply@rampart.test');
      expect(m?.subject).toBe(r.subject);
      expect(m?.parsed.from?.text).toContain('Rampart Test');
      expect(m?.raw).toMatch(/multipart\/alternative/i);
      const text = (m?.text ?? '').replace(/\r\n/g, '\n');
      expect(text.trim()).toBe(r.text.trim());
      expect(m?.html).toContain('<!doctype html>');
      for (const w of s.must) {
        expect(text, `${s.t.kind} text: ${w}`).toContain(w);
        expect(m?.html, `${s.t.kind} html: ${w}`).toContain(htmlEscape(w));
      }
    }
    // User input is escaped in HTML: the org name never becomes markup.
    const inv = (await sink.waitFor(`tpl-2-${engine}@example.test`))[0];
    expect(inv?.html).not.toContain('<Sons>');
    expect(inv?.subject).toBe('Jane Doe invited you to Acme & <Sons> on Rampart');
    // Each security notice has its own subject.
    const subjects = EVENTS.map(
      (_, i) => sink.mails.find((m) => m.to.includes(`tpl-${i + 4}-${engine}@example.test`))?.subject,
    );
    expect(new Set(subjects).size).toBe(EVENTS.length);
    // Delivered rows keep the record and drop the body.
    await expect.poll(async () => (await outbox(srv.db)).every((r) => r.status === 'sent')).toBe(true);
    // The samples are queued without an account; the sign-up's verification mail (user_id set) is not one.
    const rows = await outbox(srv.db, 'user_id IS NULL');
    expect(rows).toHaveLength(SAMPLES.length);
    expect(rows.every((r) => r.status === 'sent' && !r.has_body && r.attempts === 1)).toBe(true);
  });

  it('a password reset from the HTTP API arrives with a /reset-password#token= link that works, once', async () => {
    const dumpBefore = await dumpAllTables(srv.db);
    // Hold delivery so the mail is certainly queued (sealed body present) when the database is dumped.
    const worker = srv.rampart.services.mailWorker;
    await worker.stop();
    const r = await api(srv.baseUrl).post('/api/auth/forgot-password', { email: owner.email });
    expect(r.status).toBe(202);
    const mine = () => outbox(srv.db, "user_id = $1 AND kind = 'password_reset'", [owner.userId]);
    await expect
      .poll(async () => (await mine()).map((x) => [x.status, x.has_body]))
      .toEqual([['queued', true]]);
    const queuedDump = await dumpAllTables(srv.db);
    worker.start();
    const m = (await sink.waitFor(owner.email, 2)).at(-1);
    const link = /https:\/\/rampart\.test\/reset-password#token=([A-Za-z0-9_-]+)/.exec(m?.text ?? '');
    expect(link, m?.text).not.toBeNull();
    const token = link?.[1] ?? '';
    expect(m?.html).toContain(`https://rampart.test/reset-password#token=${token}`);
    // The token was never in the database: not before, not while queued, not after delivery.
    for (const dump of [dumpBefore, queuedDump, await dumpAllTables(srv.db)])
      expect(dump).not.toContain(token);
    await expect.poll(async () => (await mine())[0]?.status).toBe('sent');
    const [row] = await mine();
    expect(row).toMatchObject({ kind: 'password_reset', attempts: 1, has_body: false, last_error: null });
    expect(row?.to_masked).toBe(`${owner.email[0]}***@example.test`);

    const reset = await api(srv.baseUrl).post('/api/auth/reset-password', {
      token,
      password: `${PASSWORD} new`,
    });
    expect(reset.status, reset.text).toBe(200);
    const login = await api(srv.baseUrl).post('/api/auth/login', {
      email: owner.email,
      password: `${PASSWORD} new`,
    });
    expect(login.status).toBe(200);
    owner = { ...owner, token: (login.body as { token: string }).token, password: `${PASSWORD} new` };
    const resets = sink.mails.filter(
      (x) => x.to.includes(owner.email) && x.text.includes('/reset-password#'),
    );
    expect(resets).toHaveLength(1);
  });

  it('a server that refuses with 4xx and then accepts: delivered exactly once, after a retry', async () => {
    const to = uniqueEmail('retry');
    sink.refuse(451, 2, undefined, to);
    const id = await enqueue(to, { kind: 'test', at: 'now', node: 'n' });
    await sink.waitFor(to);
    await expect.poll(async () => (await rowOf(id))?.status).toBe('sent');
    expect(await rowOf(id)).toMatchObject({ attempts: 3, has_body: false });
    expect(sink.mails.filter((m) => m.to.includes(to))).toHaveLength(1);
  });

  it('a server that refuses with 5xx: marked failed at once, no retry', async () => {
    const to = uniqueEmail('refused');
    sink.refuse(550, 1, undefined, to);
    const id = await enqueue(to, { kind: 'test', at: 'now', node: 'n' });
    await expect.poll(async () => (await rowOf(id))?.status).toBe('failed');
    const row = await rowOf(id);
    expect(row).toMatchObject({ attempts: 1, has_body: false });
    expect(row?.last_error).toMatch(/^EMESSAGE: SMTP 550: /);
    expect(row?.last_error).not.toContain(to);
    expect(sink.mails.filter((m) => m.to.includes(to))).toHaveLength(0);
  });

  it('4xx on every attempt: failed once the attempts run out', async () => {
    const to = uniqueEmail('exhausted');
    sink.refuse(451, 3, undefined, to);
    const id = await enqueue(to, { kind: 'test', at: 'now', node: 'n' });
    await expect.poll(async () => (await rowOf(id))?.status).toBe('failed');
    expect(await rowOf(id)).toMatchObject({ attempts: 3, has_body: false });
    expect((await rowOf(id))?.last_error).toMatch(/SMTP 451/);
    expect(sink.mails.filter((m) => m.to.includes(to))).toHaveLength(0);
  });

  it('an e-mail alert the SMTP server refuses (5xx) is audited job.alert_failed, never job.alert_sent', async () => {
    const a = api(srv.baseUrl, owner.token);
    const o = `/api/orgs/${owner.orgId}`;
    const to = uniqueEmail('oncall');
    const ch = await a.post<{ id: string }>(`${o}/alert-channels`, {
      type: 'email',
      name: 'oncall',
      config: { to: [to] },
    });
    expect(ch.status, ch.text).toBe(201);
    const job = await a.post<{ id: string }>(`${o}/jobs`, {
      name: 'refused alert',
      schedule: '* * * * *',
      url: `${target.origin}/status/500`,
      retries: 0,
      alertAfter: 1,
      alertChannelIds: [ch.body.id],
    });
    expect(job.status, job.text).toBe(201);
    sink.refuse(550, 1, undefined, to);
    expect((await a.post(`${o}/jobs/${job.body.id}/run`)).status).toBe(202);
    await srv.rampart.services.jobRunner.tick();
    const entries = async () => {
      const r = await a.get<{ entries: Array<{ action: string; target: string; metadata?: unknown }> }>(
        `${o}/audit?limit=500`,
      );
      return r.body.entries.filter(
        (e) => e.target === `job:${job.body.id}` && e.action.startsWith('job.alert'),
      );
    };
    await expect.poll(async () => (await entries()).map((e) => e.action)).toEqual(['job.alert_failed']);
    expect(JSON.stringify(await entries())).toMatch(/SMTP 550/);
    const [row] = await outbox(srv.db, "kind = 'job_alert' AND org_id = $1", [owner.orgId]);
    expect(row).toMatchObject({ status: 'failed', attempts: 1 });
    expect(sink.mails.filter((m) => m.to.includes(to))).toHaveLength(0);
  });

  it('the SMTP password is in no log line, delivery record or error; a wrong password fails without echoing it', async () => {
    const wrong = 'Wrong-PASSWORD-9f8e7d';
    const bad = new SmtpMailer({
      url: `smtp://${SMTP_USER}:${encodeURIComponent(wrong)}@127.0.0.1:${sink.port}`,
      from: 'no-reply@rampart.test',
      timeoutMs: 5_000,
    });
    const err = await bad.deliver({ to: 'x@example.test', subject: 's', text: 't' }).catch((e: unknown) => e);
    bad.close();
    expect(err).toMatchObject({ code: 'EAUTH', responseCode: 535 });
    const everything = [
      String(err),
      (err as Error).stack ?? '',
      JSON.stringify(err),
      JSON.stringify(Object.getOwnPropertyDescriptors(err)),
      describeError(err),
    ].join('\n');
    for (const secret of [
      wrong,
      encodeURIComponent(wrong),
      Buffer.from(`\0${SMTP_USER}\0${wrong}`).toString('base64'),
    ])
      expect(everything).not.toContain(secret);
    expect(JSON.stringify(bad)).not.toContain(wrong);

    const logs = srv.logs.join('');
    const records = JSON.stringify(await outbox(srv.db));
    for (const secret of [
      SMTP_PASS,
      encodeURIComponent(SMTP_PASS),
      Buffer.from(`\0${SMTP_USER}\0${SMTP_PASS}`).toString('base64'),
    ]) {
      expect(logs).not.toContain(secret);
      expect(records).not.toContain(secret);
    }
    expect(logs).toContain('mail deferred');
    expect(logs).not.toContain(LINK_TOKEN);
    expect(await dumpAllTables(srv.db)).not.toContain(LINK_TOKEN);
  });
});
