/**
 * A real SMTP server on loopback for tests (the `smtp-server` package, by the nodemailer authors), with every
 * accepted message parsed by `mailparser`. Rampart's own SMTP transport talks to it exactly as it would to a
 * production relay. `refuse` makes the server answer the next DATA commands with an SMTP error instead.
 */
import type { AddressInfo } from 'node:net';
import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';

export interface CaughtMail {
  from: string;
  to: string[];
  subject: string;
  text: string;
  html: string;
  raw: string;
  parsed: ParsedMail;
}

export interface SmtpSink {
  /** `smtp://user:pass@127.0.0.1:<port>` for RAMPART_SMTP_URL. */
  url: string;
  port: number;
  mails: CaughtMail[];
  /**
   * Answer the next `count` messages with this SMTP error (e.g. 451 temporary, 550 permanent); with `to`, only
   * messages to that address (other mail, such as a sign-up's verification link, goes through meanwhile).
   */
  refuse(code: number, count?: number, message?: string, to?: string): void;
  /** Mail to `to`, waiting up to `timeoutMs` for `count` of them. */
  waitFor(to: string, count?: number, timeoutMs?: number): Promise<CaughtMail[]>;
  close(): Promise<void>;
}

export const SMTP_USER = 'rampart';
export const SMTP_PASS = 'smtp-pass-Kq7!x';

export async function startSmtpSink(
  opts: { port?: number; options?: Partial<SMTPServerOptions> } = {},
): Promise<SmtpSink> {
  const mails: CaughtMail[] = [];
  let refusals: { code: number; left: number; message: string; to?: string | undefined } | null = null;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onAuth(auth, _session, cb) {
      if (auth.username === SMTP_USER && auth.password === SMTP_PASS) cb(null, { user: auth.username });
      else cb(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }));
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const rcpt = session.envelope.rcptTo.map((r) => r.address);
        if (refusals && refusals.left > 0 && (!refusals.to || rcpt.includes(refusals.to))) {
          refusals.left--;
          const { code, message } = refusals;
          cb(Object.assign(new Error(message), { responseCode: code }));
          return;
        }
        const raw = Buffer.concat(chunks).toString('utf8');
        simpleParser(raw)
          .then((parsed) => {
            mails.push({
              from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
              to: session.envelope.rcptTo.map((r) => r.address),
              subject: parsed.subject ?? '',
              text: parsed.text ?? '',
              html: typeof parsed.html === 'string' ? parsed.html : '',
              raw,
              parsed,
            });
            cb();
          })
          .catch((err: Error) => cb(err));
      });
    },
    ...opts.options,
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.server.address() as AddressInfo).port;
  return {
    url: `smtp://${SMTP_USER}:${encodeURIComponent(SMTP_PASS)}@127.0.0.1:${port}`,
    port,
    mails,
    refuse(code, count = 1, message = code >= 500 ? 'Mailbox unavailable' : 'Try again later', to) {
      refusals = { code, left: count, message, to };
    },
    async waitFor(to, count = 1, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const got = mails.filter((m) => m.to.includes(to));
        if (got.length >= count) return got;
        if (Date.now() > deadline) throw new Error(`no mail to ${to} within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
