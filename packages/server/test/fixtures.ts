import { createHmac, randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Database } from '../src/db/database.js';
import type { Role } from '../src/tenancy/permissions.js';

/**
 * Shared HTTP fixtures for server tests: accounts, orgs, members with a given role, and a small fetch wrapper.
 * Everything goes through the real HTTP API (no shortcuts into the database), so a fixture that works proves
 * the flow it stands for.
 */

/** A strong password that passes the policy (length, not common, does not contain the email). */
export const PASSWORD = 'correct horse battery 42';

/**
 * A unique, valid email address: `<tag>-<random>@example.test`, unique per call and per run (Redis keys are
 * sha256(email), so a rerun must not reuse one).
 */
export const uniqueEmail = (tag = 'user'): string =>
  `${tag.toLowerCase().replace(/[^a-z0-9]+/g, '-')}-${randomBytes(6).toString('hex')}@example.test`;

/** A documentation-range IPv6 address, random per call: per-IP counters (memory or Redis) never collide. */
export const randomIp = (): string => {
  const h = randomBytes(12).toString('hex');
  return `2001:db8:${h.match(/.{4}/g)?.join(':')}`;
};

export interface ApiResponse<T = Record<string, unknown>> {
  status: number;
  /** Parsed JSON when the response is JSON, else an empty object. */
  body: T;
  /** The raw response text (for "never contains" checks). */
  text: string;
  headers: Headers;
  /** Milliseconds from sending the request to reading the whole answer (for timing comparisons). */
  ms: number;
}

export interface Api {
  request<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<ApiResponse<T>>;
  get<T = Record<string, unknown>>(path: string): Promise<ApiResponse<T>>;
  post<T = Record<string, unknown>>(path: string, body?: unknown): Promise<ApiResponse<T>>;
  put<T = Record<string, unknown>>(path: string, body?: unknown): Promise<ApiResponse<T>>;
  patch<T = Record<string, unknown>>(path: string, body?: unknown): Promise<ApiResponse<T>>;
  del<T = Record<string, unknown>>(path: string, body?: unknown): Promise<ApiResponse<T>>;
}

/**
 * One request to a real listening server with fetch. A body is sent as JSON only when given, so body-less DELETEs
 * carry no content-type (Fastify refuses an empty JSON body); bytes (a skill package) go as they are.
 */
export async function send<T = Record<string, unknown>>(
  baseUrl: string,
  method: string,
  path: string,
  opts: { body?: unknown; token?: string; ip?: string; headers?: Record<string, string> } = {},
): Promise<ApiResponse<T>> {
  const h: Record<string, string> = { ...opts.headers };
  if (opts.ip !== undefined) h['x-forwarded-for'] = opts.ip;
  if (opts.token) h.authorization = `Bearer ${opts.token}`;
  const { body } = opts;
  const raw = body instanceof Uint8Array;
  if (body !== undefined) h['content-type'] ??= raw ? 'application/octet-stream' : 'application/json';
  const started = performance.now();
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: h,
    ...(body !== undefined ? { body: raw ? body : JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  const ms = performance.now() - started;
  let parsed: unknown = {};
  if ((res.headers.get('content-type') ?? '').includes('application/json') && text) parsed = JSON.parse(text);
  return { status: res.status, body: parsed as T, text, headers: res.headers, ms };
}

/** {@link send} bound to a server and (optionally) a bearer token. */
export function api(baseUrl: string, token?: string): Api {
  const request = <T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    send<T>(baseUrl, method, path, { body, headers, ...(token ? { token } : {}) });
  return {
    request,
    get: (path) => request('GET', path),
    post: (path, body) => request('POST', path, body),
    put: (path, body) => request('PUT', path, body),
    patch: (path, body) => request('PATCH', path, body),
    del: (path, body) => request('DELETE', path, body),
  };
}

export interface Client {
  /** The address every request says it comes from (X-Forwarded-For). */
  readonly ip: string;
  call<T = Record<string, unknown>>(
    method: string,
    path: string,
    opts?: { token?: string; body?: unknown },
  ): Promise<ApiResponse<T>>;
  get<T = Record<string, unknown>>(path: string, token?: string): Promise<ApiResponse<T>>;
  post<T = Record<string, unknown>>(path: string, body?: unknown, token?: string): Promise<ApiResponse<T>>;
}

/**
 * {@link send} bound to a server and a source address, with the token given per call. The servers of these suites
 * trust X-Forwarded-For (RAMPART_TRUST_PROXY=127.0.0.1), so each client can be a distinct source IP: one test's
 * failed logins never spend another test's per-IP allowance.
 */
export function client(baseUrl: string, ip: string = randomIp()): Client {
  const call = <T>(method: string, path: string, opts: { token?: string; body?: unknown } = {}) =>
    send<T>(baseUrl, method, path, { ...opts, ip });
  return {
    ip,
    call,
    get: (path, token) => call('GET', path, token === undefined ? {} : { token }),
    post: (path, body, token) =>
      call('POST', path, {
        ...(body === undefined ? {} : { body }),
        ...(token === undefined ? {} : { token }),
      }),
  };
}

export interface Account {
  userId: string;
  orgId: string;
  token: string;
  email: string;
  password: string;
}

/**
 * Signs up a new account with its first org (the caller is its owner), through `via`: a base URL, or a client
 * (whose source address the request then carries). @throws when signup is not 201
 */
export async function signup(
  via: string | Api | Client,
  opts: { email?: string; password?: string; orgName?: string } = {},
): Promise<Account> {
  const email = opts.email ?? uniqueEmail('owner');
  const password = opts.password ?? PASSWORD;
  const orgName = opts.orgName ?? `Org ${randomBytes(3).toString('hex')}`;
  const c = typeof via === 'string' ? api(via) : via;
  const r = await c.post<{ userId: string; orgId: string; token: string }>('/api/auth/signup', {
    email,
    password,
    orgName,
  });
  if (r.status !== 201) throw new Error(`signup failed: ${r.status} ${r.text}`);
  return { ...r.body, email, password };
}

/** {@link signup} through `c` with an address and org name made from `tag`. */
export const signupAccount = (c: Client, tag: string, password = PASSWORD): Promise<Account> =>
  signup(c, { email: uniqueEmail(tag), password, orgName: `${tag} org` });

/** Signs in; returns the session token. @throws when login is not 200 */
export async function login(
  baseUrl: string,
  email: string,
  password: string = PASSWORD,
  extra: { totp?: string; recoveryCode?: string } = {},
): Promise<string> {
  const r = await api(baseUrl).post<{ token: string }>('/api/auth/login', { email, password, ...extra });
  if (r.status !== 200) throw new Error(`login failed: ${r.status} ${r.text}`);
  return r.body.token;
}

/** What the mail helpers read: a mailer that keeps what it sent (the server's MemoryMailer). */
export interface MailBox<M extends SentMail = SentMail> {
  readonly sent: readonly M[];
}
export interface SentMail {
  to: string;
  text: string;
}

/** The address-confirmation mail every sign-up sends (left out of {@link waitForMail}'s count). */
export const isVerificationMail = (m: { text: string }): boolean => m.text.includes('/verify-email#token=');

/** The mails to `to` other than sign-up's confirmation mail, in order. */
export const mailsTo = <M extends SentMail>(mailer: MailBox<M>, to: string): M[] =>
  mailer.sent.filter((m) => m.to === to && !isVerificationMail(m));

/**
 * Polls until `mailer` holds `count` messages to `to` (mail leaves through the outbox worker, after the request
 * that queued it has answered), not counting the confirmation mail of the address's sign-up.
 */
export async function waitForMail<M extends SentMail>(
  mailer: MailBox<M>,
  to: string,
  count = 1,
  timeoutMs = 5_000,
): Promise<M[]> {
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

const seenTokens = new WeakMap<MailBox, Set<string>>();

/**
 * The token of the newest mail to `email` whose link is `<publicUrl>/<page>#token=` (default: a reset or an
 * invitation link; the sign-up's verification mail is left out) that no earlier call returned. Mail leaves through
 * the outbox worker, after the request that queued it has answered, so this polls.
 */
export async function lastResetToken(
  mailer: MailBox | MailBox[],
  email: string,
  timeoutMs = 5_000,
  pages: readonly string[] = ['reset-password', 'accept-invite'],
): Promise<string> {
  // Several nodes: any of them may deliver a queued mail.
  const mailers = Array.isArray(mailer) ? mailer : [mailer];
  const key = mailers[0] as MailBox;
  const seen = seenTokens.get(key) ?? new Set<string>();
  seenTokens.set(key, seen);
  const link = new RegExp(`/(?:${pages.join('|')})#token=([A-Za-z0-9_-]+)`);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const mail = mailers.flatMap((m) => m.sent.filter((x) => x.to === email && link.test(x.text))).at(-1);
    const token = mail && link.exec(mail.text)?.[1];
    if (token && !seen.has(token)) {
      seen.add(token);
      return token;
    }
    if (Date.now() > deadline)
      throw new Error(`no new ${pages.join('/')} mail for ${email} within ${timeoutMs} ms`);
    await sleep(10);
  }
}

/**
 * Confirms a signed-up account's address through the link of its verification mail, signed in as that account
 * (confirming needs the account's own session as well as the link): `credential` is its password (default
 * {@link PASSWORD}) or a session token of it.
 */
export async function verifyEmail(
  srv: { baseUrl: string; mailer: MailBox | MailBox[] },
  email: string,
  credential: string | { session: string } = PASSWORD,
): Promise<void> {
  const token = await lastResetToken(srv.mailer, email, 5_000, ['verify-email']);
  const session =
    typeof credential === 'string' ? await login(srv.baseUrl, email, credential) : credential.session;
  const r = await api(srv.baseUrl, session).post('/api/auth/verify-email', { token });
  if (r.status !== 200) throw new Error(`verify-email failed: ${r.status} ${r.text}`);
}

export interface Member {
  userId: string;
  token: string;
  email: string;
  password: string;
}

/** Invites `email` to `orgId` with `role` as `actorToken`; returns the mailed invitation token. */
export async function invite(
  srv: { baseUrl: string; mailer: MailBox | MailBox[] },
  actorToken: string,
  orgId: string,
  email: string,
  role: Role,
): Promise<string> {
  // An owner who invites colleagues has confirmed their own address (an unverified account cannot create keys
  // once others are in its org): the fixture does it the way a person would, through the mailed link.
  const me = await api(srv.baseUrl, actorToken).get<{ email: string; emailVerified: boolean }>('/api/me');
  if (me.status === 200 && !me.body.emailVerified)
    await verifyEmail(srv, me.body.email, { session: actorToken });
  const r = await api(srv.baseUrl, actorToken).post(`/api/orgs/${orgId}/members`, { email, role });
  if (r.status !== 201) throw new Error(`invite failed: ${r.status} ${r.text}`);
  return lastResetToken(srv.mailer, email, 5_000, ['accept-invite']);
}

/**
 * Adds a brand-new person to `orgId` with `role` (as `actorToken`, who must be allowed to): the invitation is
 * mailed, and the person accepts it by choosing a password, which signs them in.
 */
export async function addMemberWithRole(
  srv: { baseUrl: string; mailer: MailBox | MailBox[] },
  actorToken: string,
  orgId: string,
  role: Role,
  email: string = uniqueEmail(role),
): Promise<Member> {
  const token = await invite(srv, actorToken, orgId, email, role);
  const r = await api(srv.baseUrl).post<{ userId: string; token: string }>('/api/auth/invitations/accept', {
    token,
    password: PASSWORD,
  });
  if (r.status !== 200) throw new Error(`accept failed: ${r.status} ${r.text}`);
  return { userId: r.body.userId, token: r.body.token, email, password: PASSWORD };
}

/**
 * Adds an existing, verified account to another org with `role`: invitation, then accepted with the account's own
 * session (signed-up accounts verify first with {@link verifyEmail}).
 */
export async function addExistingMember(
  srv: { baseUrl: string; mailer: MailBox | MailBox[] },
  actorToken: string,
  orgId: string,
  member: { email: string; token: string },
  role: Role,
): Promise<string> {
  const token = await invite(srv, actorToken, orgId, member.email, role);
  const r = await api(srv.baseUrl, member.token).post<{ userId: string }>('/api/auth/invitations/accept', {
    token,
  });
  if (r.status !== 200) throw new Error(`accept failed: ${r.status} ${r.text}`);
  return r.body.userId;
}

function base32Decode(s: string): Buffer {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const out: number[] = [];
  for (const c of s.replace(/=+$/, '').toUpperCase()) {
    const i = alphabet.indexOf(c);
    if (i < 0) throw new Error('not base32');
    value = (value << 5) | i;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/**
 * An RFC 6238 / RFC 4226 code (SHA-1, 6 digits, 30 s) for a base32 secret at time `ms`, written independently of
 * the code under test (so the server's TOTP check is not tested against itself); identity-totp.test.ts checks it
 * against the RFC's vectors.
 */
export function totpAt(secret: string, ms: number): string {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(ms / 1000 / 30)));
  const mac = createHmac('sha1', base32Decode(secret)).update(counter).digest();
  const offset = (mac[mac.length - 1] ?? 0) & 0x0f;
  const bin = mac.readUInt32BE(offset) & 0x7fffffff;
  return String(bin % 1_000_000).padStart(6, '0');
}

/**
 * {@link totpAt} now, or `stepOffset` steps away (the server accepts ±1): a second login right after enrolment
 * needs the next step because each step is accepted once.
 */
export const totpCode = (secret: string, stepOffset = 0, now = Date.now()): string =>
  totpAt(secret, now + stepOffset * 30_000);

/** Matching the vectors of RFC 6238 Appendix B (SHA-1 seed "12345678901234567890", 8 digits truncated to 6). */
export const RFC6238_SECRET = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';

export interface OpenApiRoute {
  method: string;
  /** OpenAPI path template, e.g. `/api/orgs/{orgId}/members/{userId}`. */
  path: string;
}

/** Every documented route (method + OpenAPI path) from `/openapi.json`. */
export async function openApiRoutes(baseUrl: string): Promise<OpenApiRoute[]> {
  const res = await fetch(`${baseUrl}/openapi.json`);
  const doc = (await res.json()) as { paths: Record<string, Record<string, unknown>> };
  const methods = new Set(['get', 'post', 'put', 'patch', 'delete']);
  return Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.keys(ops)
      .filter((m) => methods.has(m))
      .map((m) => ({ method: m.toUpperCase(), path })),
  );
}

/** Fills an OpenAPI path template: `fill('/a/{orgId}', { orgId })`. @throws when a parameter has no value */
export function fillPath(template: string, params: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (_, name: string) => {
    const v = params[name];
    if (v === undefined) throw new Error(`no value for {${name}} in ${template}`);
    return encodeURIComponent(v);
  });
}

/**
 * The public tables in which some row, rendered as text, contains `needle` (read as the owner, past RLS).
 * For "this plaintext / this name is stored nowhere" checks that keep working as tables are added.
 */
export async function tablesContaining(db: Database, needle: string): Promise<string[]> {
  return db.owner(async (q) => {
    const { rows: tables } = await q.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables
        WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name`,
    );
    const hits: string[] = [];
    for (const { table_name: t } of tables) {
      const { rows } = await q.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM "${t}" x WHERE strpos(x::text, $1) > 0`,
        [needle],
      );
      if ((rows[0]?.n ?? 0) > 0) hits.push(t);
    }
    return hits;
  });
}
