import nodemailer, { type Transporter } from 'nodemailer';
import type { Mail, Mailer } from '../platform/mailer.js';
import { parseSmtpUrl, type SmtpSettings } from '../platform/smtp-url.js';

export { isLoopbackHost, parseSmtpUrl, type SmtpSettings, SmtpUrlError } from '../platform/smtp-url.js';

/**
 * A delivery failure with nothing secret in it: the SMTP credentials are cut out of the message and the
 * server's reply, and only the fields the worker and `rampart admin mail test` read are kept (nodemailer's error
 * object also carries the command sent, which for AUTH PLAIN is the base64 of user and password).
 */
export class SmtpDeliveryError extends Error {
  override readonly name = 'SmtpDeliveryError';
  /** nodemailer's class: ECONNECTION, ETLS, EAUTH, EENVELOPE, EMESSAGE, ETIMEDOUT, ESOCKET ... */
  readonly code: string | undefined;
  readonly responseCode: number | undefined;
  /** The SMTP verb that failed (AUTH, MAIL FROM, RCPT TO, DATA, STARTTLS, CONN), without arguments. */
  readonly command: string | undefined;
  constructor(message: string, o: { code?: string; responseCode?: number; command?: string }) {
    super(message);
    this.code = o.code;
    this.responseCode = o.responseCode;
    this.command = o.command;
  }
}

/** Cuts every known secret (raw, percent-encoded and base64 forms) out of a string. */
export function redactSecrets(s: string, secrets: Array<string | undefined>): string {
  let out = s;
  for (const secret of secrets) {
    if (!secret || secret.length < 3) continue;
    for (const form of [secret, encodeURIComponent(secret), Buffer.from(secret).toString('base64')])
      out = out.split(form).join('***');
  }
  return out;
}

function sanitize(err: unknown, s: SmtpSettings): SmtpDeliveryError {
  const e = err as { message?: unknown; code?: unknown; responseCode?: unknown; command?: unknown };
  const secrets = [s.pass, s.user && s.pass ? `\0${s.user}\0${s.pass}` : undefined];
  const message = redactSecrets(typeof e?.message === 'string' ? e.message : String(err), secrets);
  return new SmtpDeliveryError(message, {
    ...(typeof e?.code === 'string' ? { code: e.code } : {}),
    ...(typeof e?.responseCode === 'number' ? { responseCode: e.responseCode } : {}),
    ...(typeof e?.command === 'string' ? { command: e.command.split(' ')[0] ?? '' } : {}),
  });
}

export interface SmtpOptions {
  url: string;
  from: string;
  /** Extra TLS options (tests pass the local server's CA). */
  tls?: { ca?: string | Buffer; servername?: string };
  timeoutMs?: number;
}

/** The SMTP conversation's outcome, as `rampart admin mail test` reports it. */
export interface SmtpOutcome {
  messageId: string;
  response: string;
  accepted: string[];
  rejected: string[];
}

/** Delivers through an SMTP server with nodemailer (one pooled connection per node). */
export class SmtpMailer implements Mailer {
  /** Where mail goes, for reports: host, port, TLS mode and user; never the password. */
  readonly endpoint: Readonly<Omit<SmtpSettings, 'pass'>>;
  readonly #settings: SmtpSettings;
  readonly #from: string;
  readonly #transport: Transporter;

  /** @throws SmtpUrlError (fixed text) when the URL is unusable */
  constructor(o: SmtpOptions) {
    const s = parseSmtpUrl(o.url);
    this.#settings = s;
    this.endpoint = Object.freeze({
      host: s.host,
      port: s.port,
      secure: s.secure,
      requireTLS: s.requireTLS,
      user: s.user,
    });
    this.#from = o.from;
    const timeout = o.timeoutMs ?? 30_000;
    this.#transport = nodemailer.createTransport({
      host: s.host,
      port: s.port,
      secure: s.secure,
      requireTLS: s.requireTLS,
      ...(s.user ? { auth: { user: s.user, pass: s.pass ?? '' } } : {}),
      tls: { minVersion: 'TLSv1.2', ...o.tls },
      connectionTimeout: timeout,
      greetingTimeout: timeout,
      socketTimeout: timeout,
      pool: true,
      maxConnections: 2,
      // nodemailer's own logger would print the conversation, addresses and message bodies: off.
      logger: false,
      debug: false,
    });
  }

  async send(mail: Mail): Promise<void> {
    await this.deliver(mail);
  }

  /** Sends one message and returns the server's answer. @throws SmtpDeliveryError (responseCode set for SMTP replies) */
  async deliver(mail: Mail): Promise<SmtpOutcome> {
    let info: { messageId?: unknown; response?: unknown; accepted?: unknown; rejected?: unknown };
    try {
      info = await this.#transport.sendMail({
        from: this.#from,
        to: mail.to,
        subject: mail.subject,
        text: mail.text,
        ...(mail.html ? { html: mail.html } : {}),
      });
    } catch (err) {
      throw sanitize(err, this.#settings);
    }
    const list = (a: unknown): string[] =>
      Array.isArray(a)
        ? a.map((x) => (typeof x === 'string' ? x : String((x as { address?: string }).address)))
        : [];
    return {
      messageId: String(info.messageId ?? ''),
      response: String(info.response ?? ''),
      accepted: list(info.accepted),
      rejected: list(info.rejected),
    };
  }

  /** Connects, greets, upgrades and authenticates without sending. */
  async verify(): Promise<void> {
    try {
      await this.#transport.verify();
    } catch (err) {
      throw sanitize(err, this.#settings);
    }
  }

  close(): void {
    this.#transport.close();
  }
}
