/**
 * What operators get: `rampart admin mail test` (the real binary against a real SMTP server: success, no
 * settings, connection refused, a wrong password, a 5xx), failed mail visible through `GET /api/admin/mail` and
 * `rampart admin mail list`, and the production start without RAMPART_SMTP_URL (a clear warning; mail is marked
 * failed and its body never reaches the log).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  api,
  cleanEnv,
  freePort,
  login,
  PASSWORD,
  runCli,
  signup,
  testMasterKeys,
  totpCode,
  uniqueEmail,
} from '@rampart/testing';
import { SMTP_PASS, SMTP_USER, type SmtpSink, startSmtpSink } from '@rampart/testing/smtp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueueMail } from '../src/mail/outbox.js';
import { startTestServer } from './helpers.js';
import {
  durableStore,
  FAST_MAIL,
  MASTER_KEYS,
  type MailServer,
  outbox,
  startMailServer,
} from './mail-support.js';

const LINK_TOKEN = 'tok-PLAINTEXT-admin-0123456789abcdefghijklmnop';

describe('rampart admin mail test', () => {
  let sink: SmtpSink;
  beforeAll(async () => {
    sink = await startSmtpSink();
  });
  afterAll(() => sink.close());
  const run = (url: string | undefined, to = 'ops@example.test') =>
    runCli(['admin', 'mail', 'test', '--to', to], {
      env: cleanEnv({
        ...(url ? { RAMPART_SMTP_URL: url } : {}),
        RAMPART_MAIL_FROM: 'Rampart <no-reply@rampart.test>',
      }),
    });

  it('sends the test template directly and reports the SMTP outcome', async () => {
    const r = await run(sink.url);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^server response: 250 /m);
    expect(r.stdout).toMatch(/^accepted: ops@example\.test$/m);
    expect(r.stdout).toMatch(/^rejected: \(none\)$/m);
    expect(r.stdout).toMatch(/^message id: <.+>$/m);
    expect(r.stderr).toContain(
      `connecting to 127.0.0.1:${sink.port} (plain text (loopback)) as ${SMTP_USER}`,
    );
    const [m] = await sink.waitFor('ops@example.test');
    expect(m?.subject).toBe('Rampart test mail');
    expect(m?.html).toContain('test mail');
    expect(r.stdout + r.stderr).not.toContain(SMTP_PASS);
  });

  it('without RAMPART_SMTP_URL it says so and exits 2', async () => {
    const r = await run(undefined);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/RAMPART_SMTP_URL is not set/);
  });

  it.skipIf(!process.env.TEST_DATABASE_URL)(
    'without the variable, it uses the smtp_url platform setting stored in PostgreSQL',
    async () => {
      const srv = await startTestServer('postgres');
      try {
        await srv.rampart.services.settings.set({ userId: null, requestId: 'test' }, 'smtp_url', sink.url);
        const r = await runCli(['admin', 'mail', 'test', '--to', 'stored@example.test'], {
          env: cleanEnv({
            DATABASE_URL: srv.url as string,
            RAMPART_MASTER_KEYS: testMasterKeys(),
            RAMPART_MAIL_FROM: 'Rampart <no-reply@rampart.test>',
          }),
        });
        expect(r.code, r.stderr).toBe(0);
        const [m] = await sink.waitFor('stored@example.test');
        expect(m?.subject).toBe('Rampart test mail');
        expect(r.stdout + r.stderr).not.toContain(SMTP_PASS);
      } finally {
        await srv.close();
      }
    },
  );

  it('connection refused, a wrong password and a 5xx each exit 1 with a clear reason and no password', async () => {
    const closed = await run(
      `smtp://${SMTP_USER}:${encodeURIComponent(SMTP_PASS)}@127.0.0.1:${await freePort()}`,
    );
    expect(closed.code).toBe(1);
    expect(closed.stderr).toMatch(/failed while connecting: connection refused/);

    const wrong = 'Wrong-PASSWORD-4b3a2c';
    const auth = await run(`smtp://${SMTP_USER}:${wrong}@127.0.0.1:${sink.port}`);
    expect(auth.code).toBe(1);
    expect(auth.stderr).toMatch(/authentication failed/);
    expect(auth.stderr).toMatch(/SMTP 535/);
    expect(auth.stdout + auth.stderr).not.toContain(wrong);
    expect(auth.stdout + auth.stderr).not.toContain(
      Buffer.from(`\0${SMTP_USER}\0${wrong}`).toString('base64'),
    );

    sink.refuse(554, 1, 'Transaction failed', 'refused@example.test');
    const refused = await run(sink.url, 'refused@example.test');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/failed while sending: refused permanently by the server/);
    expect(refused.stderr).toMatch(/SMTP 554/);
    expect(refused.stdout + refused.stderr).not.toContain(SMTP_PASS);

    const bad = await run('smtp://u:p@host/path');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/RAMPART_SMTP_URL: must not have a path/);
  });
});

describe('failed mail is visible to operators', () => {
  let sink: SmtpSink;
  let srv: MailServer;
  let dir: string;
  let store: { dataDir?: string; databaseUrl?: string };
  let drop: () => Promise<void>;
  let failedId: string;
  let opToken: string;
  let userToken: string;

  beforeAll(async () => {
    sink = await startSmtpSink();
    dir = mkdtempSync(join(tmpdir(), 'rampart-mail-admin-'));
    ({ store, drop } = await durableStore('pglite', dir));
    srv = await startMailServer({ ...FAST_MAIL, RAMPART_SMTP_URL: sink.url }, store);
    const op = await signup(srv.baseUrl, { email: uniqueEmail('operator') });
    userToken = (await signup(srv.baseUrl)).token;
    await srv.db.owner((q) => q.query('UPDATE users SET is_operator = true WHERE id = $1', [op.userId]));
    const s = api(srv.baseUrl, op.token);
    const enroll = await s.post<{ secret: string }>('/api/auth/totp/enroll', { password: op.password });
    await s.post('/api/auth/totp/confirm', { code: totpCode(enroll.body.secret) });
    opToken = await login(srv.baseUrl, op.email, PASSWORD, { totp: totpCode(enroll.body.secret, 1) });

    sink.refuse(550, 1, undefined, 'failing.person@example.test');
    failedId = await srv.db.platform((q) =>
      enqueueMail(q, srv.rampart.services.ring, {
        to: 'failing.person@example.test',
        template: {
          kind: 'password_reset',
          link: `https://x.test/reset-password#token=${LINK_TOKEN}`,
          minutes: 30,
        },
      }),
    );
    for (let i = 0; (await outbox(srv.db, 'id = $1', [failedId]))[0]?.status !== 'failed'; i++) {
      if (i > 200) throw new Error('the refused mail was not marked failed');
      await new Promise((r) => setTimeout(r, 20));
    }
  });
  afterAll(async () => {
    await srv?.close();
    await sink?.close();
    await drop?.();
    rmSync(dir, { recursive: true, force: true });
  });

  it('GET /api/admin/mail?status=failed lists the delivery record (operators only, never the message)', async () => {
    const r = await api(srv.baseUrl, opToken).get<{
      counts: Record<string, number>;
      mails: Array<Record<string, unknown>>;
    }>('/api/admin/mail?status=failed&limit=10');
    expect(r.status, r.text).toBe(200);
    expect(r.body.counts.failed).toBe(1);
    expect(r.body.mails).toHaveLength(1);
    expect(r.body.mails[0]).toMatchObject({
      id: failedId,
      kind: 'password_reset',
      status: 'failed',
      attempts: 1,
      toMasked: 'f***@example.test',
      orgId: null,
      sentAt: null,
      nextAttemptAt: null,
    });
    expect(r.body.mails[0]?.lastError).toMatch(/SMTP 550/);
    expect(r.body.mails[0]?.failedAt).toEqual(expect.any(String));
    expect(r.text).not.toContain('failing.person');
    expect(r.text).not.toContain(LINK_TOKEN);
    expect(r.text).not.toMatch(/payload/i);

    // The two sign-ups' verification mails went out; they are listed as sent, the refused one is not.
    const sent = await api(srv.baseUrl, opToken).get<{ mails: Array<{ kind: string; id: string }> }>(
      '/api/admin/mail?status=sent',
    );
    expect(sent.body.mails.map((m) => m.kind)).toEqual(['email_verification', 'email_verification']);
    expect(sent.body.mails.map((m) => m.id)).not.toContain(failedId);
    expect((await api(srv.baseUrl, opToken).get('/api/admin/mail?status=bogus')).body).toMatchObject({
      error: 'validation_failed',
    });
    expect((await api(srv.baseUrl, opToken).get('/api/admin/mail?limit=0')).status).toBe(400);
    const user = await api(srv.baseUrl, userToken).get('/api/admin/mail');
    expect(user.status).toBe(403);
    expect((await api(srv.baseUrl).get('/api/admin/mail')).status).toBe(401);
    // Looking is audited on the platform chain.
    const audited = await srv.db.owner((q) =>
      q.query("SELECT 1 FROM audit_log WHERE org_id IS NULL AND action = 'operator.mail_listed'"),
    );
    expect(audited.rowCount).toBe(2);
  });

  it('rampart admin mail list --status failed reads the same records from the database', async () => {
    await srv.close();
    const env = cleanEnv({ RAMPART_DATA_DIR: dir, RAMPART_MASTER_KEYS: MASTER_KEYS });
    const r = await runCli(['admin', 'mail', 'list', '--status', 'failed'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^queued 0 {2}sending 0 {2}sent 2 {2}failed 1$/m);
    expect(r.stdout).toContain(failedId);
    expect(r.stdout).toMatch(/failed .* password_reset +f\*\*\*@example\.test {2}attempts 1/);
    expect(r.stdout).toMatch(/SMTP 550/);
    expect(r.stdout).not.toContain(LINK_TOKEN);
  });
});

describe('production without RAMPART_SMTP_URL', () => {
  it('warns at start, marks mail failed and never logs its body', async () => {
    const srv = await startMailServer({
      NODE_ENV: 'production',
      RAMPART_PUBLIC_URL: 'https://rampart.test',
      RAMPART_SECURITY_CONTACT: 'mailto:security@rampart.test',
    });
    try {
      const logs = () => srv.logs.join('');
      expect(logs()).toMatch(/SECURITY WARNING: RAMPART_SMTP_URL is not set: no e-mail is sent/);
      const id = await srv.db.platform((q) =>
        enqueueMail(q, srv.rampart.services.ring, {
          to: 'prod.user@example.test',
          template: {
            kind: 'password_reset',
            link: `https://rampart.test/reset-password#token=${LINK_TOKEN}`,
            minutes: 30,
          },
        }),
      );
      await expect.poll(async () => (await outbox(srv.db, 'id = $1', [id]))[0]?.status).toBe('failed');
      expect((await outbox(srv.db, 'id = $1', [id]))[0]?.last_error).toMatch(/no SMTP server is configured/);
      expect(logs()).toContain('Reset your Rampart password');
      expect(logs()).not.toContain(LINK_TOKEN);
      expect(logs()).not.toContain('Choose a new password');
      expect(logs()).not.toContain('prod.user');
    } finally {
      await srv.close();
    }
  });
});
