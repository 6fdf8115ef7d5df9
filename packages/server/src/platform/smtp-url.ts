import { isIP } from 'node:net';

/**
 * RAMPART_SMTP_URL parsing, kept free of nodemailer so configuration can validate it at start. Every message here
 * is fixed text: the URL carries a password and is never echoed, not even in part.
 */

/** localhost, *.localhost, 127.0.0.0/8 and ::1: the only hosts a plain-text SMTP session may go to. */
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

/** A problem with RAMPART_SMTP_URL; the message never contains the URL or any part of it. */
export class SmtpUrlError extends Error {
  override readonly name = 'SmtpUrlError';
}

const decode = (s: string, what: string): string => {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new SmtpUrlError(`RAMPART_SMTP_URL: the ${what} is not valid percent-encoding`);
  }
};

/**
 * Parses RAMPART_SMTP_URL: `smtp://[user:password@]host[:port]` (STARTTLS; port 587 by default) or `smtps://...`
 * (implicit TLS; port 465). A path, query or fragment is refused rather than silently ignored (nodemailer-style
 * `?secure=false` options would otherwise look as if they applied).
 * @throws SmtpUrlError with a fixed message
 */
export function parseSmtpUrl(raw: string): SmtpSettings {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new SmtpUrlError('RAMPART_SMTP_URL is not a URL');
  }
  if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:')
    throw new SmtpUrlError('RAMPART_SMTP_URL must start with smtp:// or smtps://');
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (!host) throw new SmtpUrlError('RAMPART_SMTP_URL has no host');
  if ((url.pathname && url.pathname !== '/') || url.search || url.hash)
    throw new SmtpUrlError(
      'RAMPART_SMTP_URL must not have a path, query or fragment: smtp://[user:password@]host[:port]',
    );
  const secure = url.protocol === 'smtps:';
  const port = url.port ? Number(url.port) : secure ? 465 : 587;
  if (!Number.isInteger(port) || port < 1 || port > 65_535)
    throw new SmtpUrlError('RAMPART_SMTP_URL has an invalid port');
  const user = url.username ? decode(url.username, 'user name') : undefined;
  const pass = url.password ? decode(url.password, 'password') : undefined;
  if (pass !== undefined && user === undefined)
    throw new SmtpUrlError('RAMPART_SMTP_URL has a password but no user name');
  return { host, port, secure, requireTLS: !secure && !isLoopbackHost(host), user, pass };
}

/** For configuration: the problem with the URL, or null when it is usable. */
export function smtpUrlProblem(raw: string): string | null {
  try {
    parseSmtpUrl(raw);
    return null;
  } catch (err) {
    return err instanceof SmtpUrlError ? err.message.replace(/^RAMPART_SMTP_URL:? ?/, '') : 'is invalid';
  }
}
