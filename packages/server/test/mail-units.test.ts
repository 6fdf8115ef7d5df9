/**
 * The SMTP settings and the outbox's small rules: RAMPART_SMTP_URL parsing and its refusal at start (never
 * echoing the URL), the loopback rule for plain-text SMTP proved against a real server on this machine's
 * non-loopback address, the permanent/temporary split, back-off, and what a delivery record may say.
 */
import { networkInterfaces } from 'node:os';
import { startSmtpSink } from '@rampart/testing/smtp';
import pino from 'pino';
import { SMTPServer } from 'smtp-server';
import { afterAll, describe, expect, it } from 'vitest';
import { enqueueMail, maskAddress } from '../src/mail/outbox.js';
import { isLoopbackHost, parseSmtpUrl, SmtpMailer } from '../src/mail/smtp.js';
import { backoffMs, describeError, isPermanent, MailWorker } from '../src/mail/worker.js';
import { ConfigError, loadConfig } from '../src/platform/config.js';
import { PermanentMailError } from '../src/platform/mailer.js';
import { createTestDb, testRing } from './helpers.js';

describe('RAMPART_SMTP_URL', () => {
  it('parses smtp:// (STARTTLS, 587) and smtps:// (TLS, 465), decoding user and password', () => {
    expect(parseSmtpUrl('smtp://u%40x:p%2Fw%3A@mail.example.com')).toEqual({
      host: 'mail.example.com',
      port: 587,
      secure: false,
      requireTLS: true,
      user: 'u@x',
      pass: 'p/w:',
    });
    expect(parseSmtpUrl('smtps://mail.example.com')).toMatchObject({
      port: 465,
      secure: true,
      requireTLS: false,
    });
    expect(parseSmtpUrl('smtp://127.0.0.1:2525')).toMatchObject({
      port: 2525,
      requireTLS: false,
      user: undefined,
    });
    expect(parseSmtpUrl('smtp://[::1]:25')).toMatchObject({ host: '::1', requireTLS: false });
    expect(parseSmtpUrl('smtp://localhost')).toMatchObject({ requireTLS: false });
    expect(parseSmtpUrl('smtp://10.0.0.5:25')).toMatchObject({ requireTLS: true });
  });

  it('loopback is localhost, *.localhost, 127/8 and ::1 only', () => {
    for (const h of ['localhost', 'mail.localhost', '127.0.0.1', '127.9.9.9', '::1', '[::1]', 'LOCALHOST'])
      expect(isLoopbackHost(h), h).toBe(true);
    for (const h of [
      '10.0.0.1',
      '0.0.0.0',
      '::',
      '::ffff:127.0.0.1',
      'localhost.example.com',
      '128.0.0.1',
      'mail',
    ])
      expect(isLoopbackHost(h), h).toBe(false);
  });

  it('a bad URL stops the start with a clear error that never echoes it', () => {
    const secret = 'Sup3r-SECRET-pw';
    const cases: Array<[string, RegExp]> = [
      [`http://u:${secret}@mail.example.com`, /must start with smtp:\/\/ or smtps:\/\//],
      [`smtp://u:${secret}%zz@mail.example.com`, /password is not valid percent-encoding/],
      [`smtp://u:${secret}@mail.example.com/path`, /must not have a path, query or fragment/],
      [`smtp://u:${secret}@mail.example.com?secure=false`, /must not have a path, query or fragment/],
      [`smtp://:${secret}@mail.example.com`, /password but no user name/],
      [`not a url ${secret}`, /is not a URL/],
    ];
    for (const [url, msg] of cases) {
      let err: unknown;
      try {
        loadConfig({ RAMPART_SMTP_URL: url });
      } catch (e) {
        err = e;
      }
      expect(err, url).toBeInstanceOf(ConfigError);
      expect((err as Error).message, url).toMatch(/RAMPART_SMTP_URL: /);
      expect((err as Error).message, url).toMatch(msg);
      expect((err as Error).message).not.toContain(secret);
    }
    expect(() => loadConfig({ RAMPART_MAIL_FROM: 'a@b.example\r\nBcc: x@evil.example' })).toThrow(
      /RAMPART_MAIL_FROM/,
    );
    expect(
      loadConfig({ RAMPART_SMTP_URL: 'smtps://u:p@mail.example.com:465' }).RAMPART_SMTP_URL,
    ).toBeDefined();
  });
});

describe('STARTTLS is required off loopback', () => {
  const lan = Object.values(networkInterfaces())
    .flat()
    .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;
  const servers: SMTPServer[] = [];
  afterAll(async () => {
    for (const s of servers) await new Promise<void>((r) => s.close(() => r()));
  });

  it.skipIf(!lan)(
    `a plain-text SMTP server on a non-loopback address (${lan ?? 'none on this machine: skipped'}) gets nothing`,
    async () => {
      const received: string[] = [];
      const server = new SMTPServer({
        authOptional: true,
        disabledCommands: ['STARTTLS'],
        logger: false,
        onData(stream, _s, cb) {
          stream.on('data', (c: Buffer) => received.push(String(c)));
          stream.on('end', () => cb(null));
        },
      });
      servers.push(server);
      await new Promise<void>((r) => server.listen(0, lan, () => r()));
      const port = (server.server.address() as { port: number }).port;
      const mailer = new SmtpMailer({
        url: `smtp://${lan}:${port}`,
        from: 'no-reply@rampart.test',
        timeoutMs: 5_000,
      });
      expect(mailer.endpoint.requireTLS).toBe(true);
      const err = await mailer
        .deliver({ to: 'x@example.test', subject: 'secret subject', text: 'secret body' })
        .catch((e: unknown) => e);
      mailer.close();
      expect(err).toMatchObject({ name: 'SmtpDeliveryError' });
      expect((err as { code?: string }).code).toMatch(/^(ETLS|ECONNECTION)$/);
      // Not permanent: a relay that lost STARTTLS is a configuration problem, queued mail waits for the fix.
      expect(isPermanent(err)).toBe(false);
      expect(received).toEqual([]);
    },
  );

  it('the same plain-text server on loopback is used without TLS', async () => {
    const sink = await startSmtpSink();
    const mailer = new SmtpMailer({ url: sink.url, from: 'no-reply@rampart.test' });
    const out = await mailer.deliver({
      to: 'y@example.test',
      subject: 'hello',
      text: 'body',
      html: '<p>body</p>',
    });
    mailer.close();
    await sink.close();
    expect(out.accepted).toEqual(['y@example.test']);
    expect(out.response).toMatch(/^250 /);
    expect(sink.mails[0]?.subject).toBe('hello');
  });
});

describe('worker wake-ups', () => {
  it('mail queued on this node and its own retries go out without waiting for the poll', async () => {
    const tdb = await createTestDb('pglite');
    const sink = await startSmtpSink();
    const transport = new SmtpMailer({ url: sink.url, from: 'no-reply@rampart.test' });
    const ring = testRing();
    const worker = new MailWorker({
      db: tdb.db,
      ring,
      transport,
      logger: pino({ level: 'silent' }),
      maxAttempts: 3,
      // Due after the enqueue's last wake-up (250 ms): only the worker's own retry timer can catch it.
      retryBaseMs: 400,
      retryMaxMs: 400,
      pollMs: 600_000, // the poll never comes within this test
      retentionDays: 1,
    });
    try {
      worker.start();
      await new Promise((r) => setTimeout(r, 50)); // the first (empty) round has run
      sink.refuse(451, 1);
      await tdb.db.platform((q) =>
        enqueueMail(q, ring, { to: 'wake@example.test', template: { kind: 'test', at: 'now', node: 'n' } }),
      );
      const [m] = await sink.waitFor('wake@example.test', 1, 3_000);
      expect(m?.subject).toBe('Rampart test mail');
    } finally {
      await worker.stop();
      transport.close();
      await sink.close();
      await tdb.close();
    }
  });
});

describe('SMTP errors', () => {
  it('a relay that quotes the credentials in its refusal: the password is cut out of the error', async () => {
    const pass = 'Quoted-PASSWORD-x1y2z3';
    const server = new SMTPServer({
      authOptional: false,
      disabledCommands: ['STARTTLS'],
      allowInsecureAuth: true,
      logger: false,
      onAuth(auth, _s, cb) {
        const echoed = `${auth.username} ${auth.password} ${encodeURIComponent(auth.password ?? '')}`;
        cb(Object.assign(new Error(`authentication failed for ${echoed}`), { responseCode: 535 }));
      },
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.server.address() as { port: number }).port;
    const mailer = new SmtpMailer({
      url: `smtp://ops:${encodeURIComponent(pass)}@127.0.0.1:${port}`,
      from: 'a@b.test',
    });
    const err = await mailer
      .deliver({ to: 'x@example.test', subject: 's', text: 't' })
      .catch((e: unknown) => e);
    mailer.close();
    await new Promise<void>((r) => server.close(() => r()));
    expect(err).toMatchObject({ code: 'EAUTH', responseCode: 535 });
    const all = [String(err), (err as Error).stack, JSON.stringify(err), describeError(err)].join('\n');
    expect(all).toContain('authentication failed for ops ***');
    expect(all).not.toContain(pass);
    expect(all).not.toContain(encodeURIComponent(pass));
  });
});

describe('outbox rules', () => {
  it('only envelope or message refusals with 5xx are permanent', () => {
    expect(isPermanent({ code: 'EMESSAGE', responseCode: 550 })).toBe(true);
    expect(isPermanent({ code: 'EENVELOPE', responseCode: 553 })).toBe(true);
    expect(isPermanent({ responseCode: 554 })).toBe(true);
    expect(isPermanent(new PermanentMailError('x'))).toBe(true);
    expect(isPermanent({ code: 'EMESSAGE', responseCode: 451 })).toBe(false);
    expect(isPermanent({ code: 'EAUTH', responseCode: 535 })).toBe(false);
    expect(isPermanent({ code: 'ETLS', responseCode: 502 })).toBe(false);
    expect(isPermanent({ code: 'ECONNECTION' })).toBe(false);
    expect(isPermanent(new Error('x'))).toBe(false);
  });

  it('back-off doubles from the base with ±20 % jitter and never passes the cap', () => {
    expect(backoffMs(1, 1000, 60_000, 0.5)).toBe(1000);
    expect(backoffMs(2, 1000, 60_000, 0.5)).toBe(2000);
    expect(backoffMs(4, 1000, 60_000, 0.5)).toBe(8000);
    expect(backoffMs(3, 1000, 60_000, 0)).toBe(3200);
    expect(backoffMs(3, 1000, 60_000, 1)).toBe(4800);
    expect(backoffMs(10, 1000, 60_000, 1)).toBe(60_000);
    expect(backoffMs(50, 30_000, 3_600_000, 0.99)).toBe(3_600_000);
    expect(backoffMs(0, 1000, 60_000, 0.5)).toBe(1000);
  });

  it('a delivery record keeps the SMTP answer but no address, link or token', () => {
    const token = 'AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-abcd';
    const d = describeError(
      Object.assign(
        new Error(
          `Message failed: 550 5.7.1 <jane.doe@example.com> URL https://rampart.test/reset-password#token=${token} is listed; ref ${token}`,
        ),
        { code: 'EMESSAGE', responseCode: 550 },
      ),
    );
    expect(d).toMatch(/^EMESSAGE: SMTP 550: Message failed: 550 5\.7\.1/);
    expect(d).not.toContain('jane');
    expect(d).not.toContain('rampart.test');
    expect(d).not.toContain(token);
    expect(describeError(new Error('x'.repeat(2000))).length).toBeLessThanOrEqual(500);
    expect(describeError(new Error('a\r\nb'))).toBe('a b');
  });

  it('masks a recipient to its first letter and domain', () => {
    expect(maskAddress('jane@example.com')).toBe('j***@example.com');
    expect(maskAddress('nobody')).toBe('***');
  });
});
