/**
 * Shared helpers for the identity-*.test.ts suites: a tiny HTTP client, unique identities, an independent
 * RFC 6238 code generator (so the server's TOTP check is not tested against itself), and mail polling.
 */
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { MemoryMailer } from '../src/platform/mailer.js';

/** A strong password no test email's local part appears in (policy: contains_email). */
export const PASSWORD = 'Vellum-Quartz-Otter-42!';

export interface Res<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: T;
  ms: number;
}

/** A documentation-range IPv6 address, random per call: per-IP counters (memory or Redis) never collide. */
export const randomIp = (): string => {
  const h = randomBytes(12).toString('hex');
  return `2001:db8:${h.match(/.{4}/g)?.join(':')}`;
};

/** Unique per call and per run (Redis keys are sha256(email), so a rerun must not reuse one). */
export const uniqueEmail = (tag: string): string => `${tag}-${randomUUID().slice(0, 12)}@example.test`;

/**
 * A client that calls the real listening server with fetch. The servers in these suites trust
 * X-Forwarded-For (RAMPART_TRUST_PROXY=127.0.0.1), so each client can be a distinct source IP: one test's failed
 * logins never spend another test's per-IP allowance.
 */
export function client(baseUrl: string, ip: string = randomIp()) {
  async function call<T = Record<string, unknown>>(
    method: string,
    path: string,
    opts: { token?: string; body?: unknown } = {},
  ): Promise<Res<T>> {
    const headers: Record<string, string> = { 'x-forwarded-for': ip };
    if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`;
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    const started = performance.now();
    const res = await fetch(new URL(path, baseUrl), {
      method,
      headers,
      ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
    });
    const text = await res.text();
    const ms = performance.now() - started;
    return { status: res.status, headers: res.headers, body: (text ? JSON.parse(text) : {}) as T, ms };
  }
  return {
    ip,
    call,
    get: <T = Record<string, unknown>>(path: string, token?: string) =>
      call<T>('GET', path, token === undefined ? {} : { token }),
    post: <T = Record<string, unknown>>(path: string, body?: unknown, token?: string) =>
      call<T>('POST', path, {
        ...(body === undefined ? {} : { body }),
        ...(token === undefined ? {} : { token }),
      }),
  };
}
export type Client = ReturnType<typeof client>;

export interface Account {
  email: string;
  password: string;
  userId: string;
  orgId: string;
  token: string;
}

/** Signs up a fresh account and returns its credentials; fails the test unless the answer is 201. */
export async function signupAccount(c: Client, tag: string, password = PASSWORD): Promise<Account> {
  const email = uniqueEmail(tag);
  const r = await c.post<{ userId: string; orgId: string; token: string }>('/api/auth/signup', {
    email,
    password,
    orgName: `${tag} org`,
  });
  if (r.status !== 201) throw new Error(`signup failed: ${r.status} ${JSON.stringify(r.body)}`);
  return { email, password, ...r.body };
}

/** The address-confirmation mail every sign-up sends (left out of {@link waitForMail}'s count). */
export const isVerificationMail = (m: { text: string }): boolean => m.text.includes('/verify-email#token=');

/** The mails to `to` other than sign-up's confirmation mail, in order. */
export const mailsTo = (mailer: MemoryMailer, to: string) =>
  mailer.sent.filter((m) => m.to === to && !isVerificationMail(m));

/**
 * Polls until `mailer` holds `count` messages to `to` (the reset work runs after the 202 is sent), not counting
 * the confirmation mail of the address's sign-up.
 */
export async function waitForMail(mailer: MemoryMailer, to: string, count = 1, timeoutMs = 5_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const mails = mailsTo(mailer, to);
    if (mails.length >= count) return mails;
    if (Date.now() > deadline) throw new Error(`no mail to ${to} within ${timeoutMs} ms`);
    await sleep(10);
  }
}

/** The reset/invite token from a mail body (`.../reset-password#token=<token>`). */
export function tokenFromMail(text: string): string {
  const m = /#token=([A-Za-z0-9_-]+)/.exec(text);
  if (!m?.[1]) throw new Error('no #token= link in the mail');
  return m[1];
}

function base32Decode(s: string): Buffer {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const out: number[] = [];
  for (const ch of s.replace(/=+$/, '').toUpperCase()) {
    const idx = alphabet.indexOf(ch);
    if (idx < 0) throw new Error('not base32');
    value = (value << 5) | idx;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** RFC 6238 / RFC 4226 (SHA-1, 6 digits, 30 s), written independently of the code under test. */
export function totpAt(secret: string, ms: number): string {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(ms / 1000 / 30)));
  const mac = createHmac('sha1', base32Decode(secret)).update(counter).digest();
  const offset = (mac[mac.length - 1] ?? 0) & 0x0f;
  const bin = mac.readUInt32BE(offset) & 0x7fffffff;
  return String(bin % 1_000_000).padStart(6, '0');
}

/** Matching the vectors of RFC 6238 Appendix B (SHA-1 seed "12345678901234567890", 8 digits truncated to 6). */
export const RFC6238_SECRET = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';
