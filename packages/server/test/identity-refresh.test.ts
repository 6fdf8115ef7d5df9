/**
 * Dashboard sessions that survive a reload (issue 20 part 4): the HttpOnly refresh cookie, its rotation on every
 * use, reuse detection (a rotated token presented again burns its whole sign-in, audited), the exact-Origin check
 * of the refresh endpoints, the cookie's attributes, revocation by logout and by every token-generation bump,
 * 15-minute session JWTs that die with their sign-in, hashes only in the database, and the 30-day limit.
 */
import { createHash } from 'node:crypto';
import { type Client, client, lastResetToken, PASSWORD, signupAccount, uniqueEmail } from '@rampart/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sweepRefreshFamilies } from '../src/identity/accounts/refresh.js';
import { refreshCookieSecure } from '../src/identity/accounts/refresh-cookie.js';
import type { Config } from '../src/platform/config.js';
import { ENGINES, startTestServer } from './helpers.js';
import { dumpTables } from './leak-support.js';

type Server = Awaited<ReturnType<typeof startTestServer>>;
const COOKIE = /^rampart_refresh=(rrt_[A-Za-z0-9_-]{43}); /;

interface Refreshed {
  status: number;
  body: Record<string, unknown>;
  cookie: string | null;
  setCookie: string | null;
}

const claims = (jwt: string) =>
  JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString()) as Record<string, unknown>;

describe.each(ENGINES)('dashboard refresh sessions (%s)', (engine) => {
  let srv: Server;
  let c: Client;
  let origin: string;

  /** POSTs a cookie session endpoint as a browser on `from` would, with the given refresh token. */
  async function post(path: string, token: string | null, from: string | null = origin): Promise<Refreshed> {
    const headers: Record<string, string> = { 'x-forwarded-for': c.ip };
    if (from !== null) headers.origin = from;
    if (token !== null) headers.cookie = `rampart_refresh=${token}`;
    const res = await fetch(new URL(path, srv.baseUrl), { method: 'POST', headers });
    const text = await res.text();
    const setCookie = res.headers.get('set-cookie');
    return {
      status: res.status,
      body: text ? JSON.parse(text) : {},
      setCookie,
      cookie: setCookie ? (COOKIE.exec(setCookie)?.[1] ?? null) : null,
    };
  }
  const refresh = (token: string | null, from?: string | null) => post('/api/auth/session', token, from);

  /** Signs in with session "cookie": the JSON token and the refresh cookie's value and header. */
  async function signIn(email: string, password = PASSWORD) {
    const res = await fetch(new URL('/api/auth/login', srv.baseUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': c.ip },
      body: JSON.stringify({ email, password, session: 'cookie' }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { token: string; expiresAt: string };
    const header = res.headers.get('set-cookie') ?? '';
    const cookie = COOKIE.exec(header)?.[1];
    if (!cookie) throw new Error(`no refresh cookie in ${header}`);
    return { ...body, cookie, header };
  }

  const me = async (token: string) => (await c.get('/api/me', token)).status;
  const events = async (email: string) => {
    const s = await signIn(email);
    const r = await c.get<{ events: Array<{ action: string; meta: Record<string, unknown> }> }>(
      '/api/me/events',
      s.token,
    );
    return r.body.events;
  };

  beforeAll(async () => {
    srv = await startTestServer(engine, { RAMPART_TRUST_PROXY: '127.0.0.1' });
    c = client(srv.baseUrl);
    origin = new URL(srv.rampart.services.publicUrl).origin;
    expect(origin).toBe(srv.baseUrl);
  });
  afterAll(() => srv?.close());

  it('sign-in with session "cookie" sets an HttpOnly, SameSite=Strict cookie on the refresh path for 30 days', async () => {
    const a = await signupAccount(c, 'cookie');
    const s = await signIn(a.email);
    expect(s.header).toBe(
      `rampart_refresh=${s.cookie}; Path=/api/auth/session; HttpOnly; SameSite=Strict; Max-Age=2592000`,
    );
    // Loopback http public URL outside production: no Secure (the browser would drop it on http).
    expect(s.header).not.toContain('Secure');
    // The JSON is the script contract, unchanged; its JWT lives 15 minutes and names its sign-in.
    expect(Object.keys(s).filter((k) => k !== 'cookie' && k !== 'header')).toEqual(['token', 'expiresAt']);
    const cl = claims(s.token);
    expect(Number(cl.exp) - Number(cl.iat)).toBe(900);
    expect(cl.sid).toMatch(/^[0-9a-f-]{36}$/);
    expect(await me(s.token)).toBe(200);
  });

  it('sign-up with session "cookie" keeps its 201 shape and sets the cookie too', async () => {
    const res = await fetch(new URL('/api/auth/signup', srv.baseUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': c.ip },
      body: JSON.stringify({
        email: uniqueEmail('su'),
        password: PASSWORD,
        orgName: 'Su',
        session: 'cookie',
      }),
    });
    expect(res.status).toBe(201);
    expect(Object.keys((await res.json()) as object).sort()).toEqual(['orgId', 'token', 'userId']);
    const cookie = COOKIE.exec(res.headers.get('set-cookie') ?? '')?.[1];
    expect(cookie).toBeDefined();
    expect((await refresh(cookie ?? '')).status).toBe(200);
  });

  it('rotates the refresh token on every use and returns a fresh 15-minute JWT of the same sign-in', async () => {
    const a = await signupAccount(c, 'rotate');
    const s = await signIn(a.email);
    const r1 = await refresh(s.cookie);
    expect(r1.status).toBe(200);
    expect(Object.keys(r1.body).sort()).toEqual(['expiresAt', 'token']);
    expect(r1.cookie).not.toBeNull();
    expect(r1.cookie).not.toBe(s.cookie);
    expect(r1.setCookie).toContain('Path=/api/auth/session; HttpOnly; SameSite=Strict');
    const token = String(r1.body.token);
    expect(claims(token).sid).toBe(claims(s.token).sid);
    expect(Number(claims(token).exp) - Number(claims(token).iat)).toBe(900);
    expect(await me(token)).toBe(200);
    const r2 = await refresh(r1.cookie);
    expect(r2.status).toBe(200);
    expect(r2.cookie).not.toBe(r1.cookie);
  });

  it('a rotated token presented again revokes the whole sign-in, and is audited as auth.refresh_reuse', async () => {
    const a = await signupAccount(c, 'reuse');
    const s = await signIn(a.email);
    const other = await signIn(a.email); // another sign-in of the same user: untouched
    const r1 = await refresh(s.cookie);
    expect(r1.status).toBe(200);
    const replay = await refresh(s.cookie);
    expect(replay.status).toBe(401);
    expect(replay.body.error).toBe('unauthorized');
    expect(replay.setCookie).toMatch(/^rampart_refresh=; .*Max-Age=0/);
    // The legitimate holder's newer token and every JWT of that sign-in are dead too.
    expect((await refresh(r1.cookie)).status).toBe(401);
    expect(await me(String(r1.body.token))).toBe(401);
    expect(await me(s.token)).toBe(401);
    expect(await me(other.token)).toBe(200);
    expect((await refresh(other.cookie)).status).toBe(200);
    const reuse = (await events(a.email)).filter((e) => e.action === 'auth.refresh_reuse');
    expect(reuse).toHaveLength(1);
    expect(reuse[0]?.meta.family).toBe(claims(s.token).sid);
    expect(JSON.stringify(reuse)).not.toContain(s.cookie);
  });

  it('answers only the public URL origin: missing or foreign Origin is 403 forbidden and rotates nothing', async () => {
    const a = await signupAccount(c, 'origin');
    const s = await signIn(a.email);
    const port = new URL(origin).port;
    for (const from of [
      null,
      'null',
      `http://localhost:${port}`,
      `http://127.0.0.1:${Number(port) + 1}`,
      `https://127.0.0.1:${port}`,
      `${origin}.evil.example`,
    ]) {
      const r = await refresh(s.cookie, from);
      expect(r.status, String(from)).toBe(403);
      expect(r.body.error).toBe('forbidden');
      expect(r.setCookie).toBeNull();
      expect((await post('/api/auth/session/logout', s.cookie, from)).status).toBe(403);
    }
    // Nothing was rotated or revoked: the cookie still works from the right origin.
    expect((await refresh(s.cookie)).status).toBe(200);
  });

  it('no cookie, or one that was never issued, is 401 unauthorized', async () => {
    const none = await refresh(null);
    expect(none.status).toBe(401);
    expect(none.body.error).toBe('unauthorized');
    expect((await refresh(`rrt_${'A'.repeat(43)}`)).status).toBe(401);
    expect((await refresh('garbage')).status).toBe(401);
  });

  it('two refresh cookies in one request (one tossed from a sibling subdomain) sign no one in', async () => {
    // A host under the same site can set `rampart_refresh` with Domain= on the parent domain; the browser then
    // sends both, and whichever came first would decide whose session the dashboard resumes.
    const victim = await signIn((await signupAccount(c, 'tossed-victim')).email);
    const attacker = await signIn((await signupAccount(c, 'tossed-attacker')).email);
    for (const pair of [
      [attacker.cookie, victim.cookie],
      [victim.cookie, attacker.cookie],
    ]) {
      const res = await fetch(new URL('/api/auth/session', srv.baseUrl), {
        method: 'POST',
        headers: { origin, cookie: pair.map((v) => `rampart_refresh=${v}`).join('; ') },
      });
      expect(res.status).toBe(401);
    }
    // Nothing was rotated: each sign-in still resumes alone.
    expect((await refresh(victim.cookie)).status).toBe(200);
    expect((await refresh(attacker.cookie)).status).toBe(200);
  });

  it('logout with the bearer JWT revokes its sign-in: the cookie and the other JWTs of it stop working', async () => {
    const a = await signupAccount(c, 'logout');
    const s = await signIn(a.email);
    const r1 = await refresh(s.cookie);
    expect((await c.post('/api/auth/logout', undefined, s.token)).status).toBe(200);
    expect((await refresh(r1.cookie)).status).toBe(401);
    expect(await me(String(r1.body.token))).toBe(401);
  });

  it('logout with the cookie revokes the sign-in and clears the cookie', async () => {
    const a = await signupAccount(c, 'cookie-logout');
    const s = await signIn(a.email);
    const out = await post('/api/auth/session/logout', s.cookie);
    expect(out.status).toBe(200);
    expect(out.setCookie).toBe(
      'rampart_refresh=; Path=/api/auth/session; HttpOnly; SameSite=Strict; Max-Age=0',
    );
    expect((await refresh(s.cookie)).status).toBe(401);
    expect(await me(s.token)).toBe(401);
    // Idempotent, and fine without a cookie.
    expect((await post('/api/auth/session/logout', null)).status).toBe(200);
  });

  it('every token-generation bump ends every sign-in: sign out everywhere, password change, password reset', async () => {
    const a = await signupAccount(c, 'gen');
    const s1 = await signIn(a.email);
    const s2 = await signIn(a.email);
    expect((await c.post('/api/auth/logout-all', undefined, s1.token)).status).toBe(200);
    expect((await refresh(s1.cookie)).status).toBe(401);
    expect((await refresh(s2.cookie)).status).toBe(401);

    const s3 = await signIn(a.email);
    const next = 'Another-Long-Passphrase-77';
    const changed = await fetch(new URL('/api/auth/change-password', srv.baseUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${s3.token}` },
      body: JSON.stringify({ currentPassword: PASSWORD, newPassword: next, session: 'cookie' }),
    });
    expect(changed.status).toBe(200);
    expect((await refresh(s3.cookie)).status).toBe(401);
    // The change's own new session (cookie opted in) continues.
    const fresh = COOKIE.exec(changed.headers.get('set-cookie') ?? '')?.[1] ?? '';
    expect((await refresh(fresh)).status).toBe(200);

    const s4 = await signIn(a.email, next);
    expect((await c.post('/api/auth/forgot-password', { email: a.email })).status).toBe(202);
    // The newest mail with a link: the password-changed notice above carries none.
    const reset = await c.post('/api/auth/reset-password', {
      token: await lastResetToken(srv.mailer, a.email),
      password: PASSWORD,
    });
    expect(reset.status).toBe(200);
    expect((await refresh(s4.cookie)).status).toBe(401);
    expect(await me(s4.token)).toBe(401);
  });

  it('stores only SHA-256 hashes of refresh tokens, never the token', async () => {
    const a = await signupAccount(c, 'hash');
    const s = await signIn(a.email);
    const r1 = await refresh(s.cookie);
    const { text } = await dumpTables(srv.rampart.services.db);
    for (const t of [s.cookie, r1.cookie ?? 'missing']) {
      expect(text).not.toContain(t);
      expect(text).not.toContain(t.slice(4)); // nor its random part alone
      expect(text).toContain(createHash('sha256').update(t).digest('hex'));
      expect(srv.logs.join('\n')).not.toContain(t.slice(4));
    }
  });

  it('a sign-in ends 30 days after it started, refreshes or not', async () => {
    const a = await signupAccount(c, 'expiry');
    const s = await signIn(a.email);
    const sid = String(claims(s.token).sid);
    const days = await srv.rampart.services.db.owner(async (q) => {
      const { rows } = await q.query<{ d: number }>(
        'SELECT extract(epoch FROM expires_at - created_at)::float8 / 86400 AS d FROM refresh_families WHERE id = $1',
        [sid],
      );
      return rows[0]?.d;
    });
    expect(days).toBe(30);
    const r1 = await refresh(s.cookie);
    expect(r1.status).toBe(200);
    // Age the sign-in by 30 days (plus a second) instead of waiting.
    await srv.rampart.services.db.owner((q) =>
      q.query(
        `UPDATE refresh_families SET created_at = created_at - interval '30 days 1 second',
                expires_at = expires_at - interval '30 days 1 second' WHERE id = $1`,
        [sid],
      ),
    );
    expect((await refresh(r1.cookie)).status).toBe(401);
    expect(await me(String(r1.body.token))).toBe(401);

    // The sweep deletes sign-ins (and their tokens) a day past their end, and nothing younger.
    const rows = (table: string, column: string) =>
      srv.rampart.services.db.owner(
        async (q) => (await q.query(`SELECT 1 FROM ${table} WHERE ${column} = $1`, [sid])).rowCount,
      );
    const live = await signIn(a.email);
    await sweepRefreshFamilies(srv.rampart.services.db);
    expect(await rows('refresh_families', 'id')).toBe(1);
    await srv.rampart.services.db.owner((q) =>
      q.query(`UPDATE refresh_families SET expires_at = now() - interval '1 day 1 second' WHERE id = $1`, [
        sid,
      ]),
    );
    expect(await sweepRefreshFamilies(srv.rampart.services.db)).toBeGreaterThanOrEqual(1);
    expect(await rows('refresh_families', 'id')).toBe(0);
    expect(await rows('refresh_tokens', 'family_id')).toBe(0);
    expect((await refresh(live.cookie)).status).toBe(200);
  });

  it('sets Secure on a non-loopback public URL, and on any public URL in production', () => {
    const at = (publicUrl: string, NODE_ENV: Config['NODE_ENV']) =>
      refreshCookieSecure({ publicUrl, config: { NODE_ENV } as Config });
    expect(at('http://localhost:8787', 'development')).toBe(false);
    expect(at('http://127.0.0.1:8787', 'test')).toBe(false);
    expect(at('http://[::1]:8787', 'development')).toBe(false);
    expect(at('http://localhost:8787', 'production')).toBe(true);
    expect(at('https://localhost', 'development')).toBe(true);
    expect(at('http://rampart.lan:8787', 'development')).toBe(true);
    expect(at('https://rampart.example.com', 'test')).toBe(true);
    expect(at('http://127.0.0.1.nip.io', 'development')).toBe(true);
  });
});

describe('refresh cookie on a non-loopback public URL', () => {
  let srv: Server;
  beforeAll(async () => {
    srv = await startTestServer('pglite', { RAMPART_PUBLIC_URL: 'https://rampart.example.com' });
  });
  afterAll(() => srv?.close());

  it('is Secure, and the refresh endpoint answers that origin only', async () => {
    const c = client(srv.baseUrl);
    const a = await signupAccount(c, 'secure');
    const res = await fetch(new URL('/api/auth/login', srv.baseUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: a.email, password: PASSWORD, session: 'cookie' }),
    });
    const header = res.headers.get('set-cookie') ?? '';
    expect(header).toMatch(/; HttpOnly; SameSite=Strict; Max-Age=2592000; Secure$/);
    const cookie = COOKIE.exec(header)?.[1] ?? '';
    const call = (origin: string) =>
      fetch(new URL('/api/auth/session', srv.baseUrl), {
        method: 'POST',
        headers: { origin, cookie: `rampart_refresh=${cookie}` },
      });
    expect((await call(srv.baseUrl)).status).toBe(403);
    expect((await call('http://rampart.example.com')).status).toBe(403);
    expect((await call('https://rampart.example.com')).status).toBe(200);
  });
});
