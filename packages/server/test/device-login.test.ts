/**
 * `rampart login`: the OAuth 2.0 Device Authorization Grant (RFC 8628) through real HTTP on loopback, on every
 * engine. The device code → approval → token flow, each refusal the RFC defines (authorization_pending,
 * slow_down with a growing interval, expired_token, access_denied, invalid_grant, unsupported_grant_type,
 * invalid_client), exactly-once issuance under concurrent polls, form and JSON bodies, the CLI credential's own
 * scope (refused wherever a dashboard session, an org role, an operator, an API key or a runtime token is
 * required), revocation (dashboard and CLI) taking effect at once, expiry, other users, and no code or token in
 * any table, audit row or log line.
 */
import { createHash, randomBytes } from 'node:crypto';
import { type Account, api, lastResetToken, login, PASSWORD, randomIp, signup } from '@rampart/testing';
import type { FastifyRequest } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../src/platform/errors.js';
import { tablesContaining } from './fixtures.js';
import { ENGINES, startTestServer } from './helpers.js';

type Srv = Awaited<ReturnType<typeof startTestServer>>;

const GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const USER_CODE = /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/;
const CLI_TOKEN = /^cli_live_[1-9A-HJ-NP-Za-km-z]{32,44}$/;
const AGENT = 'rampart-cli/0.1.0 (test-host; linux x64; node v20)';

interface CodeAnswer {
  device_code: string;
  user_code: string;
  verification_uri: string;
  expires_in: number;
  interval: number;
}
interface OAuthError {
  error: string;
  error_description: string;
  message: string;
  requestId: string;
}
interface TokenAnswer {
  access_token: string;
  token_type: string;
  expires_in: number;
}
interface Listed {
  id: string;
  name: string;
  prefix: string;
  createdAt: string;
  lastUsedAt: string | null;
  expiresAt: string;
}
interface Res<T> {
  status: number;
  body: T;
  text: string;
}

/**
 * A documentation-range IPv6 address in a fresh /64 per call (per-IP limits key IPv6 on its /64): the per-IP
 * limits of one test never touch another's.
 */

describe.each(ENGINES)('CLI login: RFC 8628 device authorization grant (%s)', (engine) => {
  let srv: Srv;
  let owner: Account;
  /** Every device code, user code and token handed out, to search tables, audit rows and logs for. */
  const issued: string[] = [];

  const send = async <T>(
    path: string,
    body: Record<string, string>,
    opts: { as?: 'form' | 'json'; ip?: string; agent?: string } = {},
  ): Promise<Res<T>> => {
    const res = await fetch(`${srv.baseUrl}${path}`, {
      method: 'POST',
      headers: {
        'content-type': opts.as === 'json' ? 'application/json' : 'application/x-www-form-urlencoded',
        'x-forwarded-for': opts.ip ?? randomIp(),
        'user-agent': opts.agent ?? AGENT,
      },
      body: opts.as === 'json' ? JSON.stringify(body) : new URLSearchParams(body).toString(),
    });
    const text = await res.text();
    return { status: res.status, body: JSON.parse(text) as T, text };
  };

  const start = async (opts: { as?: 'form' | 'json'; ip?: string } = {}): Promise<CodeAnswer> => {
    const r = await send<CodeAnswer>('/api/auth/device/code', { client_id: 'rampart-cli' }, opts);
    expect(r.status, r.text).toBe(200);
    issued.push(r.body.device_code, r.body.user_code, r.body.user_code.replace('-', ''));
    return r.body;
  };

  const poll = async <T = OAuthError>(deviceCode: string, as: 'form' | 'json' = 'form') => {
    const r = await send<T>(
      '/api/auth/device/token',
      { grant_type: GRANT, device_code: deviceCode, client_id: 'rampart-cli' },
      { as },
    );
    const token = (r.body as Partial<TokenAnswer>).access_token;
    if (token) issued.push(token);
    return r;
  };

  const expectOAuthError = (r: Res<OAuthError>, code: string) => {
    expect(r.status, r.text).toBe(400);
    expect(r.body.error).toBe(code);
    // RFC 6749 §5.2 fields, and the `message` every Rampart error carries.
    expect(r.body.error_description.length).toBeGreaterThan(10);
    expect(r.body.message).toBe(r.body.error_description);
    expect(r.body.requestId).toBeTruthy();
  };

  const sql = <T extends Record<string, unknown>>(text: string, params: unknown[] = []) =>
    srv.rampart.services.db.platform(async (q) => (await q.query<T>(text, params)).rows);

  /** Runs the flow to a fresh CLI credential for `account`. */
  const mint = async (account: Account): Promise<string> => {
    const c = await start();
    const ok = await api(srv.baseUrl, account.token).post('/api/auth/device/approve', {
      userCode: c.user_code,
    });
    expect(ok.status, ok.text).toBe(200);
    const r = await poll<TokenAnswer>(c.device_code);
    expect(r.status, r.text).toBe(200);
    return r.body.access_token;
  };

  const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } }) as FastifyRequest;

  beforeAll(async () => {
    srv = await startTestServer(engine, {
      RAMPART_TRUST_PROXY: '127.0.0.1',
      RAMPART_DEVICE_CODES_PER_IP_PER_HOUR: '5',
    });
    owner = await signup(srv.baseUrl, { orgName: 'Device Org' });
  });
  afterAll(() => srv?.close());

  it('a device authorization request answers per RFC 8628 §3.2 and stores only the device code hash', async () => {
    const c = await start();
    expect(c.device_code).toMatch(/^[A-Za-z0-9_-]{43,}$/);
    expect(Buffer.from(c.device_code, 'base64url').length).toBeGreaterThanOrEqual(32);
    expect(c.user_code).toMatch(USER_CODE);
    expect(c.verification_uri).toBe(`${srv.rampart.services.publicUrl}/device`);
    // No link that carries the code (RFC 8628 §5.4 phishing): the user types what their terminal shows.
    expect(c).not.toHaveProperty('verification_uri_complete');
    expect(c.expires_in).toBe(600);
    expect(c.interval).toBe(5);
    const rows = await sql<{ device_code_hash: string; status: string; requester_agent: string }>(
      'SELECT device_code_hash, status, requester_agent FROM device_authorizations WHERE user_code = $1',
      [c.user_code.replace('-', '')],
    );
    expect(rows).toEqual([
      {
        device_code_hash: createHash('sha256').update(c.device_code).digest('hex'),
        status: 'pending',
        requester_agent: AGENT,
      },
    ]);
    expect(await tablesContaining(srv.rampart.services.db, c.device_code)).toEqual([]);
  });

  it('phishing (RFC 8628 §5.4): a request started from another address is flagged to the approver, and no link carries the code', async () => {
    const attackerIp = randomIp();
    const c = await start({ ip: attackerIp });
    expect(c).not.toHaveProperty('verification_uri_complete');
    const view = (ip: string) =>
      api(srv.baseUrl, owner.token).request<{
        requesterIp: string;
        approverIp: string;
        sameAddress: boolean;
      }>('GET', `/api/auth/device?user_code=${encodeURIComponent(c.user_code)}`, undefined, {
        'x-forwarded-for': ip,
      });
    const victimIp = randomIp();
    const elsewhere = await view(victimIp);
    expect(elsewhere.status, elsewhere.text).toBe(200);
    expect(elsewhere.body).toMatchObject({
      requesterIp: attackerIp,
      approverIp: victimIp,
      sameAddress: false,
    });
    const same = await view(attackerIp);
    expect(same.body).toMatchObject({ requesterIp: attackerIp, approverIp: attackerIp, sameAddress: true });
  });

  it('full flow: pending, the request seen and approved with a session, the token once, then invalid_grant', async () => {
    const c = await start();
    expectOAuthError(await poll(c.device_code), 'authorization_pending');

    const session = api(srv.baseUrl, owner.token);
    const seen = await session.get<Record<string, unknown>>(
      `/api/auth/device?user_code=${encodeURIComponent(c.user_code)}`,
    );
    expect(seen.status, seen.text).toBe(200);
    expect(seen.body).toMatchObject({
      userCode: c.user_code,
      clientId: 'rampart-cli',
      requesterAgent: AGENT,
    });
    expect(seen.body.requesterIp).toMatch(/^2001:db8:/);
    expect(Date.parse(String(seen.body.expiresAt)) - Date.parse(String(seen.body.createdAt))).toBe(600_000);
    expect(seen.text).not.toContain(c.device_code);

    // Codes are case- and dash-insensitive.
    const ok = await session.post('/api/auth/device/approve', {
      userCode: c.user_code.replace('-', '').toLowerCase(),
    });
    expect(ok.status, ok.text).toBe(200);

    const t = await poll<TokenAnswer>(c.device_code);
    expect(t.status, t.text).toBe(200);
    expect(t.body.token_type).toBe('Bearer');
    expect(t.body.access_token).toMatch(CLI_TOKEN);
    expect(t.body.expires_in).toBe(90 * 86_400);
    expect(Object.keys(t.body).sort()).toEqual(['access_token', 'expires_in', 'token_type']);

    expectOAuthError(await poll(c.device_code), 'invalid_grant');
    // Once consumed, the user code is no longer pending either.
    expect((await session.post('/api/auth/device/approve', { userCode: c.user_code })).status).toBe(404);

    const who = await api(srv.baseUrl, t.body.access_token).get<Record<string, string>>('/api/cli/whoami');
    expect(who.status, who.text).toBe(200);
    expect(who.body).toEqual({ userId: owner.userId, email: owner.email, credentialId: expect.any(String) });

    const [row] = await sql<{ name: string; prefix: string; token_hash: string; days: number }>(
      `SELECT name, prefix, token_hash, round(EXTRACT(EPOCH FROM (expires_at - created_at)) / 86400)::int AS days
         FROM cli_credentials WHERE id = $1`,
      [who.body.credentialId],
    );
    expect(row?.name).toBe(`rampart CLI on ${AGENT}`);
    expect(row?.prefix).toBe(t.body.access_token.slice('cli_live_'.length, 'cli_live_'.length + 8));
    expect(row?.days).toBe(90);
    expect(await tablesContaining(srv.rampart.services.db, t.body.access_token)).toEqual([]);
  });

  it('slow_down when polling sooner than the interval, and the interval grows by 5 s each time', async () => {
    const c = await start();
    const hash = createHash('sha256').update(c.device_code).digest('hex');
    const interval = async () =>
      (
        await sql<{ interval_seconds: number }>(
          'SELECT interval_seconds FROM device_authorizations WHERE device_code_hash = $1',
          [hash],
        )
      )[0]?.interval_seconds;
    expectOAuthError(await poll(c.device_code), 'authorization_pending');
    expectOAuthError(await poll(c.device_code), 'slow_down');
    expect(await interval()).toBe(10);
    expectOAuthError(await poll(c.device_code), 'slow_down');
    expect(await interval()).toBe(15);
    // 8 s after the last poll is still too soon for a 15 s interval.
    await sql(
      `UPDATE device_authorizations SET last_polled_at = now() - interval '8 seconds' WHERE device_code_hash = $1`,
      [hash],
    );
    expectOAuthError(await poll(c.device_code), 'slow_down');
    expect(await interval()).toBe(20);
    // Waiting the interval is on time again.
    await sql(
      `UPDATE device_authorizations SET last_polled_at = now() - interval '20 seconds' WHERE device_code_hash = $1`,
      [hash],
    );
    expectOAuthError(await poll(c.device_code), 'authorization_pending');
    expect(await interval()).toBe(20);
  });

  it('expired_token once the code is past its expiry, approved or not; nothing to see or approve', async () => {
    const session = api(srv.baseUrl, owner.token);
    const pending = await start();
    const approved = await start();
    expect((await session.post('/api/auth/device/approve', { userCode: approved.user_code })).status).toBe(
      200,
    );
    const before = await sql<{ n: number }>('SELECT count(*)::int AS n FROM cli_credentials');
    for (const c of [pending, approved]) {
      await sql(
        `UPDATE device_authorizations SET expires_at = now() - interval '1 second' WHERE user_code = $1`,
        [c.user_code.replace('-', '')],
      );
    }
    expectOAuthError(await poll(pending.device_code), 'expired_token');
    expectOAuthError(await poll(approved.device_code), 'expired_token');
    expect(await sql<{ n: number }>('SELECT count(*)::int AS n FROM cli_credentials')).toEqual(before);
    expect((await session.get(`/api/auth/device?user_code=${pending.user_code}`)).status).toBe(404);
    expect((await session.post('/api/auth/device/approve', { userCode: pending.user_code })).status).toBe(
      404,
    );
  });

  it('access_denied after the user denies; a denied request cannot be approved afterwards', async () => {
    const c = await start();
    const session = api(srv.baseUrl, owner.token);
    const denied = await session.post('/api/auth/device/deny', { userCode: c.user_code });
    expect(denied.status, denied.text).toBe(200);
    expectOAuthError(await poll(c.device_code), 'access_denied');
    expectOAuthError(await poll(c.device_code), 'access_denied');
    expect((await session.post('/api/auth/device/approve', { userCode: c.user_code })).status).toBe(404);
    expect((await session.get(`/api/auth/device?user_code=${c.user_code}`)).status).toBe(404);
  });

  it('concurrent polls after approval mint exactly one credential; every other poll gets invalid_grant', async () => {
    const session = api(srv.baseUrl, owner.token);
    const count = async () =>
      (await session.get<{ credentials: Listed[] }>('/api/cli-credentials')).body.credentials.length;
    const before = await count();
    // Several rounds: the window between reading "approved" and consuming it is short, so give a race chances.
    const rounds = 5;
    for (let round = 0; round < rounds; round++) {
      const c = await start();
      expect((await session.post('/api/auth/device/approve', { userCode: c.user_code })).status).toBe(200);
      const results = await Promise.all(
        Array.from({ length: 16 }, () => poll<Partial<TokenAnswer & OAuthError>>(c.device_code)),
      );
      expect(results.filter((r) => r.status === 200)).toHaveLength(1);
      for (const r of results.filter((x) => x.status !== 200)) {
        expect(r.status, r.text).toBe(400);
        expect(r.body.error).toBe('invalid_grant');
      }
    }
    expect(await count()).toBe(before + rounds);
  });

  it('takes form-encoded and JSON bodies on both endpoints; forms stay refused everywhere else', async () => {
    const json = await start({ as: 'json' });
    expect(json.user_code).toMatch(USER_CODE);
    expectOAuthError(await poll(json.device_code, 'json'), 'authorization_pending');
    const form = await start({ as: 'form' });
    expectOAuthError(await poll(form.device_code, 'form'), 'authorization_pending');

    const twice = await fetch(`${srv.baseUrl}/api/auth/device/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': randomIp() },
      body: `grant_type=${encodeURIComponent(GRANT)}&device_code=a&device_code=b&client_id=rampart-cli`,
    });
    expect(twice.status).toBe(400);
    expect(((await twice.json()) as OAuthError).error).toBe('validation_failed');

    const login = await fetch(`${srv.baseUrl}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'email=a%40b.test&password=x',
    });
    expect(login.status).toBe(415);
    const approve = await fetch(`${srv.baseUrl}/api/auth/device/approve`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Bearer ${owner.token}`,
      },
      body: `userCode=${json.user_code}`,
    });
    expect(approve.status).toBe(415);
  });

  it('invalid_client, unsupported_grant_type and invalid_grant', async () => {
    expectOAuthError(
      await send<OAuthError>('/api/auth/device/code', { client_id: 'someone-else' }),
      'invalid_client',
    );
    const c = await start();
    expectOAuthError(
      await send<OAuthError>('/api/auth/device/token', {
        grant_type: GRANT,
        device_code: c.device_code,
        client_id: 'someone-else',
      }),
      'invalid_client',
    );
    expectOAuthError(
      await send<OAuthError>('/api/auth/device/token', {
        grant_type: 'authorization_code',
        device_code: c.device_code,
        client_id: 'rampart-cli',
      }),
      'unsupported_grant_type',
    );
    expectOAuthError(await poll(randomBytes(32).toString('base64url')), 'invalid_grant');
    const missing = await send<{ error: string }>('/api/auth/device/token', {
      grant_type: GRANT,
      client_id: 'rampart-cli',
    });
    expect(missing.status).toBe(400);
    expect(missing.body.error).toBe('validation_failed');
  });

  it('the CLI credential is refused wherever a session, an org role, an operator, an API key or a runtime token is needed', async () => {
    const token = await mint(owner);
    const as = api(srv.baseUrl, token);
    const refused = [
      await as.get('/api/me'),
      await as.post('/api/auth/logout'),
      await as.get(`/api/orgs/${owner.orgId}`),
      await as.get(`/api/orgs/${owner.orgId}/api-keys`),
      await as.post(`/api/orgs/${owner.orgId}/api-keys`, { name: 'from the cli' }),
      await as.get(`/api/orgs/${owner.orgId}/audit`),
      await as.get('/api/admin/orgs'),
      await as.get('/api/runtime/whoami'),
      await as.get('/api/runtime/skills'),
      await as.get('/api/cli-credentials'),
      await as.get('/v1/models'),
    ];
    for (const r of refused) {
      expect(r.status, r.text).toBe(401);
      expect((r.body as { error: string }).error).toBe('unauthorized');
    }
    const auth = srv.rampart.services.auth;
    await expect(auth.session(bearer(token))).rejects.toMatchObject({ code: 'unauthorized' });
    const inOrg = (t: string) => ({ ...bearer(t), params: { orgId: owner.orgId } }) as FastifyRequest;
    await expect(auth.requireOrg(inOrg(token), 'apikeys.read')).rejects.toBeInstanceOf(AppError);
    await expect(auth.requireOrg(inOrg(token), 'apikeys.read')).rejects.toMatchObject({
      code: 'unauthorized',
    });
    await expect(auth.requireOperator(bearer(token))).rejects.toMatchObject({ code: 'unauthorized' });
    await expect(auth.cli(bearer(token))).resolves.toMatchObject({ kind: 'cli', userId: owner.userId });

    // And the CLI's routes take nothing but a CLI credential.
    const key = await api(srv.baseUrl, owner.token).post<{ key: string }>(
      `/api/orgs/${owner.orgId}/api-keys`,
      {
        name: 'not a cli credential',
      },
    );
    for (const other of [owner.token, key.body.key]) {
      expect((await api(srv.baseUrl, other).get('/api/cli/whoami')).status).toBe(401);
      expect((await api(srv.baseUrl, other).post('/api/auth/cli/logout')).status).toBe(401);
    }
    // An unknown token of the right shape is refused too.
    const forged = `cli_live_${token.slice('cli_live_'.length).split('').reverse().join('')}`;
    expect((await api(srv.baseUrl, forged).get('/api/cli/whoami')).status).toBe(401);
  });

  it('the dashboard lists CLI sessions (never the token) and revoking one refuses it at once', async () => {
    const token = await mint(owner);
    const cli = api(srv.baseUrl, token);
    const who = await cli.get<{ credentialId: string }>('/api/cli/whoami'); // now cached on this node
    expect(who.status).toBe(200);
    const session = api(srv.baseUrl, owner.token);
    const list = await session.get<{ credentials: Listed[] }>('/api/cli-credentials');
    expect(list.status).toBe(200);
    expect(list.text).not.toContain(token);
    const mine = list.body.credentials.find((c) => c.id === who.body.credentialId);
    expect(mine).toMatchObject({
      name: `rampart CLI on ${AGENT}`,
      prefix: token.slice(9, 17),
      createdAt: expect.any(String),
      expiresAt: expect.any(String),
    });
    const del = await session.del(`/api/cli-credentials/${who.body.credentialId}`);
    expect(del.status, del.text).toBe(200);
    expect((await cli.get('/api/cli/whoami')).status).toBe(401);
    expect((await session.del(`/api/cli-credentials/${who.body.credentialId}`)).status).toBe(404);
    const after = await session.get<{ credentials: Listed[] }>('/api/cli-credentials');
    expect(after.body.credentials.map((c) => c.id)).not.toContain(who.body.credentialId);
  });

  it('rampart logout (POST /api/auth/cli/logout) revokes the credential it carries', async () => {
    const token = await mint(owner);
    const cli = api(srv.baseUrl, token);
    expect((await cli.get('/api/cli/whoami')).status).toBe(200);
    expect((await cli.post('/api/auth/cli/logout')).status).toBe(200);
    expect((await cli.get('/api/cli/whoami')).status).toBe(401);
    expect((await cli.post('/api/auth/cli/logout')).status).toBe(401);
  });

  it('"sign out everywhere" and a password change end every CLI credential too', async () => {
    const user = await signup(srv.baseUrl);
    const first = await mint(user);
    expect((await api(srv.baseUrl, first).get('/api/cli/whoami')).status).toBe(200);
    expect((await api(srv.baseUrl, user.token).post('/api/auth/logout-all')).status).toBe(200);
    expect((await api(srv.baseUrl, first).get('/api/cli/whoami')).status).toBe(401);
    const again = await login(srv.baseUrl, user.email, PASSWORD);
    const second = await mint({ ...user, token: again });
    expect((await api(srv.baseUrl, second).get('/api/cli/whoami')).status).toBe(200);
    const change = await api(srv.baseUrl, again).post('/api/auth/change-password', {
      currentPassword: PASSWORD,
      newPassword: `${PASSWORD} and more`,
    });
    expect(change.status, change.text).toBe(200);
    expect((await api(srv.baseUrl, second).get('/api/cli/whoami')).status).toBe(401);
    // And a password reset (docs/SECURITY-CONTROLS.md says so; this holds it to it).
    const third = await mint({ ...user, token: change.body.token as string });
    expect((await api(srv.baseUrl, third).get('/api/cli/whoami')).status).toBe(200);
    expect((await api(srv.baseUrl).post('/api/auth/forgot-password', { email: user.email })).status).toBe(
      202,
    );
    await expect.poll(() => srv.mailer.sent.some((m) => m.to === user.email), { timeout: 5_000 }).toBe(true);
    const reset = await api(srv.baseUrl).post('/api/auth/reset-password', {
      token: await lastResetToken(srv.mailer, user.email),
      password: `${PASSWORD} reset again`,
    });
    expect(reset.status, reset.text).toBe(200);
    expect((await api(srv.baseUrl, third).get('/api/cli/whoami')).status).toBe(401);
  });

  it('an expired credential is refused, and last use is recorded off the request path', async () => {
    const token = await mint(owner);
    const who = await api(srv.baseUrl, token).get<{ credentialId: string }>('/api/cli/whoami');
    await expect
      .poll(
        async () =>
          (
            await sql<{ used: boolean }>(
              'SELECT last_used_at IS NOT NULL AS used FROM cli_credentials WHERE id = $1',
              [who.body.credentialId],
            )
          )[0]?.used,
      )
      .toBe(true);

    const stale = await mint(owner);
    const [row] = await sql<{ id: string }>(
      `UPDATE cli_credentials SET expires_at = now() - interval '1 second'
        WHERE id = (SELECT id FROM cli_credentials ORDER BY created_at DESC LIMIT 1) RETURNING id`,
    );
    expect(row?.id).toBeTruthy();
    const r = await api(srv.baseUrl, stale).get('/api/cli/whoami');
    expect(r.status).toBe(401);
    const listed = await api(srv.baseUrl, owner.token).get<{ credentials: Listed[] }>('/api/cli-credentials');
    expect(listed.body.credentials.map((c) => c.id)).not.toContain(row?.id);
  });

  it('another user cannot see or revoke your CLI sessions (404), and your credential keeps working', async () => {
    const token = await mint(owner);
    const { credentialId } = (await api(srv.baseUrl, token).get<{ credentialId: string }>('/api/cli/whoami'))
      .body;
    const other = await signup(srv.baseUrl, { orgName: 'Other Org' });
    const theirs = api(srv.baseUrl, other.token);
    expect((await theirs.get<{ credentials: Listed[] }>('/api/cli-credentials')).body.credentials).toEqual(
      [],
    );
    const del = await theirs.del(`/api/cli-credentials/${credentialId}`);
    expect(del.status).toBe(404);
    expect((await api(srv.baseUrl, token).get('/api/cli/whoami')).status).toBe(200);
    // What the other user approves signs the CLI in as them.
    const own = await mint(other);
    const who = await api(srv.baseUrl, own).get<{ userId: string; email: string }>('/api/cli/whoami');
    expect(who.body).toMatchObject({ userId: other.userId, email: other.email });
  });

  it('wrong user codes are rate-limited per user: after 10 misses even the right code gets 429', async () => {
    const guesser = await signup(srv.baseUrl, { orgName: 'Guesser Org' });
    const c = await start();
    const as = api(srv.baseUrl, guesser.token);
    for (let i = 0; i < 10; i++) {
      const wrong = i % 2 ? 'BBBB-BBBB' : 'not a code';
      const r =
        i % 3 === 0
          ? await as.get(`/api/auth/device?user_code=${encodeURIComponent(wrong)}`)
          : await as.post('/api/auth/device/approve', { userCode: wrong });
      expect(r.status, r.text).toBe(404);
    }
    const limited = await as.post('/api/auth/device/approve', { userCode: c.user_code });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBeTruthy();
    // Successes do not count: another user approves and reads codes freely.
    for (let i = 0; i < 12; i++) {
      expect(
        (await api(srv.baseUrl, owner.token).get(`/api/auth/device?user_code=${c.user_code}`)).status,
      ).toBe(200);
    }
  });

  it('device codes are rate-limited per IP', async () => {
    const ip = randomIp();
    for (let i = 0; i < 5; i++) await start({ ip });
    const r = await send<{ error: string }>('/api/auth/device/code', { client_id: 'rampart-cli' }, { ip });
    expect(r.status).toBe(429);
    expect(r.body.error).toBe('rate_limited');
  });

  it('audits approvals, denials and revocations without any code or token', async () => {
    // Device events are the user's own account events (finding 8), not their orgs' audit entries.
    const mine = (
      await api(srv.baseUrl, owner.token).get<{
        events: Array<{ action: string; target: string; meta: Record<string, unknown> }>;
      }>('/api/me/events?limit=200')
    ).body.events;
    const entries = async (action: string) => mine.filter((e) => e.action === action);
    const orgLog = await api(srv.baseUrl, owner.token).get<{ entries: Array<{ action: string }> }>(
      `/api/orgs/${owner.orgId}/audit?limit=500`,
    );
    expect(orgLog.body.entries.filter((e) => e.action.startsWith('auth.'))).toEqual([]);
    const approved = await entries('auth.device_approved');
    expect(approved.length).toBeGreaterThan(3);
    expect(approved[0]?.target).toMatch(/^device_authorization:/);
    expect(approved[0]?.meta).toMatchObject({ clientId: 'rampart-cli', requesterAgent: AGENT });
    expect((await entries('auth.device_denied')).length).toBe(1);
    const revoked = await entries('auth.cli_credential_revoked');
    expect(revoked.map((e) => e.meta.via).sort()).toEqual(['cli', 'dashboard']);
    expect(revoked.every((e) => e.target.startsWith('cli_credential:'))).toBe(true);

    const audit = await srv.rampart.services.db.owner(
      async (q) => (await q.query<{ row: string }>('SELECT a::text AS row FROM audit_log a')).rows,
    );
    const text = audit.map((r) => r.row).join('\n');
    const logs = srv.logs.join('');
    expect(issued.length).toBeGreaterThan(30);
    for (const secret of issued) {
      expect(text, 'audit').not.toContain(secret);
      expect(logs, 'logs').not.toContain(secret);
    }
    // The user code is only in its own table; device codes and tokens are in none.
    for (const secret of issued) {
      const tables = await tablesContaining(srv.rampart.services.db, secret);
      expect(tables.filter((t) => t !== 'device_authorizations')).toEqual([]);
      if (!/^[BCDFGHJKLMNPQRSTVWXZ]{8}$/.test(secret)) expect(tables).toEqual([]);
    }
  });

  it('/openapi.json documents every CLI-login route', async () => {
    const doc = (await (await fetch(`${srv.baseUrl}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    for (const [path, method] of [
      ['/api/auth/device/code', 'post'],
      ['/api/auth/device/token', 'post'],
      ['/api/auth/device', 'get'],
      ['/api/auth/device/approve', 'post'],
      ['/api/auth/device/deny', 'post'],
      ['/api/cli-credentials', 'get'],
      ['/api/cli-credentials/{id}', 'delete'],
      ['/api/auth/cli/logout', 'post'],
      ['/api/cli/whoami', 'get'],
    ] as const) {
      expect(doc.paths[path]?.[method], `${method} ${path}`).toBeDefined();
    }
    const code = doc.paths['/api/auth/device/code']?.post as {
      requestBody?: { content?: Record<string, unknown> };
    };
    expect(Object.keys(code.requestBody?.content ?? {})).toContain('application/x-www-form-urlencoded');
  });
});
