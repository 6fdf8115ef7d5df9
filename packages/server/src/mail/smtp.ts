import { isIP } from 'node:net';
import nodemailer, { type Transporter } from 'nodemailer';
import type { Mail, Mailer } from '../identity/mailer.js';

/** localhost, 127.0.0.0/8 and ::1: the only hosts a plain-text SMTP session may go to. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || h === '0:0:0:0:0:0:0:1';
  return false;
}

export interface SmtpSettings {
  host: string;
  port: number;
  /** smtps://: TLS from the first byte. */
  secure: boolean;
  /** smtp:// to anything but loopback: the session must upgrade with STARTTLS or nothing is sent. */
  requireTLS: boolean;
  user: string | undefined;
  pass: string | undefined;
}

/** Parses RAMPART_SMTP_URL. Errors never include the URL (it holds a password). */
export function parseSmtpUrl(raw: string): SmtpSettings {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error('RAMPART_SMTP_URL is not a URL');
  }
  if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:')
    throw new Error('RAMPART_SMTP_URL must start with smtp:// or smtps://');
  const secure = url.protocol === 'smtps:';
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return {
    host,
    port: url.port ? Number(url.port) : secure ? 465 : 587,
    secure,
    requireTLS: !secure && !isLoopbackHost(host),
    user: url.username ? decodeURIComponent(url.username) : undefined,
    pass: url.password ? decodeURIComponent(url.password) : undefined,
  };
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
  readonly settings: SmtpSettings;
  readonly #from: string;
  readonly #transport: Transporter;

  constructor(o: SmtpOptions) {
    this.settings = parseSmtpUrl(o.url);
    this.#from = o.from;
    const s = this.settings;
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

  /** Sends one message and returns the server's answer. @throws the transport error (responseCode set for SMTP) */
  async deliver(mail: Mail): Promise<SmtpOutcome> {
    const info = await this.#transport.sendMail({
      from: this.#from,
      to: mail.to,
      subject: mail.subject,
      text: mail.text,
      ...(mail.html ? { html: mail.html } : {}),
    });
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
    await this.#transport.verify();
  }

  close(): void {
    this.#transport.close();
  }
}
