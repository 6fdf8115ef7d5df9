/**
 * Sessions and credential types at the HTTP level (issue 5; DESIGN invariant 6): JWT forgery and algorithm
 * confusion on /api/me, logout and log-out-everywhere, membership and role re-read on every request (a
 * removed member's still-valid JWT is refused at once), and the separation of session JWTs, API keys and
 * runtime tokens, with revocation taking effect immediately on this node.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { signSession } from '@rampart/core/tokens';
import {
  type Account,
  type Client,
  client,
  PASSWORD,
  signupAccount,
  TEST_JWT_SECRET,
  tokenFromMail,
  uniqueEmail,
  waitForMail,
} from '@rampart/testing';
import type { FastifyRequest } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, startTestServer } from './helpers.js';

type Server = Awaited<ReturnType<typeof startTestServer>>;
/** The JWT secret the test servers are configured with (testServerEnv). */
const JWT_SECRET = TEST_JWT_SECRET;

const b64url = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

/** A compact JWS built by hand, so each forgery differs from a genuine session in exactly one way. */
function forge(
  userId: string,
  opts: { alg?: string; secret?: Buffer; exp?: number; hmac?: 'sha256' | 'sha512' | 'none' } = {},
): string {
  const now = Math.floor(Date.now() / 1000);
  const header = b64url({ alg: opts.alg ?? 'HS256', typ: 'JWT' });
  const payload = b64url({
    typ: 'session',
    gen: 0,
    amr: ['pwd'],
    iss: 'rampart',
    aud: 'rampart:dashboard',
    sub: userId,
    iat: now - 10,
    exp: opts.exp ?? now + 3600,
    jti: randomBytes(16).toString('base64url'),
  });
  const input = `${header}.${payload}`;
  const hmac = opts.hmac ?? 'sha256';
  if (hmac === 'none') return `${input}.`;
  return `${input}.${createHmac(hmac, opts.secret ?? JWT_SECRET)
    .update(input)
    .digest('base64url')}`;
}

function expectUnauthorized(r: { status: number; body: Record<string, unknown> }) {
  expect(r.status).toBe(401);
  expect(Object.keys(r.body).sort()).toEqual(['error', 'message', 'requestId']);
  expect(r.body.error).toBe('unauthorized');
}

/** The authenticator sees only the Authorization header; a fresh object per call (it memoises the principal). */
const fakeRequest = (token: string) => ({ headers: { authorization: `Bearer ${token}` } }) as FastifyRequest;

describe.each(ENGINES)('sessions and credentials (%s)', (engine) => {
  let srv: Server;
  let c: Client;
  let victim: Account;
  beforeAll(async () => {
    srv = await startTestServer(engine, { RAMPART_TRUST_PROXY: '127.0.0.1' });
    c = client(srv.baseUrl);
    victim = await signupAccount(c, 'victim');
  });
  afterAll(() => srv?.close());

  it('control: a hand-built HS256 token with the right secret and claims is accepted', async () => {
    const r = await c.get('/api/me', forge(victim.userId));
    expect(r.status).toBe(200);
    expect(r.body.userId).toBe(victim.userId);
  });

  it.each([
    ['alg none (unsigned)', () => forge(victim.userId, { alg: 'none', hmac: 'none' })],
    ['alg none with an HS256 signature', () => forge(victim.userId, { alg: 'none' })],
    [
      'algorithm confusion: HS512 signed with the real secret',
      () => forge(victim.userId, { alg: 'HS512', hmac: 'sha512' }),
    ],
    ['HS256 signed with another secret', () => forge(victim.userId, { secret: randomBytes(32) })],
    ['expired (genuinely signed)', () => forge(victim.userId, { exp: Math.floor(Date.now() / 1000) - 60 })],
    [
      'expired (signed by the server library)',
      () =>
        signSession(JWT_SECRET, {
          userId: victim.userId,
          generation: 0,
          totp: false,
          ttlSeconds: 60,
          now: Date.now() - 3_600_000,
        }),
    ],
    ['garbage', () => 'not-a-jwt'],
    ['three garbage segments', () => 'a.b.c'],
    ['a valid token with its signature stripped', () => forge(victim.userId).replace(/\.[^.]+$/, '.')],
  ])('forged session refused on /api/me: %s -> 401 unauthorized', async (_name, make) => {
    expectUnauthorized(await c.get('/api/me', await make()));
  });

  it('no token, or a non-Bearer scheme, is 401 unauthorized', async () => {
    expectUnauthorized(await c.get('/api/me'));
    const r = await fetch(`${srv.baseUrl}/api/me`, { headers: { authorization: `Basic ${victim.token}` } });
    expect(r.status).toBe(401);
  });

  it('logout revokes only that session; another session of the same user keeps working', async () => {
    const a = await signupAccount(c, 'logout');
    const s1 = (await c.post<{ token: string }>('/api/auth/login', { email: a.email, password: PASSWORD }))
      .body.token;
    const s2 = (await c.post<{ token: string }>('/api/auth/login', { email: a.email, password: PASSWORD }))
      .body.token;
    expect((await c.post('/api/auth/logout', undefined, s1)).status).toBe(200);
    expectUnauthorized(await c.get('/api/me', s1));
    expect((await c.get('/api/me', s2)).status).toBe(200);
    expect((await c.get('/api/me', a.token)).status).toBe(200);
    expectUnauthorized(await c.post('/api/auth/logout', undefined, s1)); // a revoked session cannot act
  });

  it('logout-all revokes every session of the user; a new login works', async () => {
    const a = await signupAccount(c, 'logoutall');
    const s1 = (await c.post<{ token: string }>('/api/auth/login', { email: a.email, password: PASSWORD }))
      .body.token;
    expect((await c.post('/api/auth/logout-all', undefined, s1)).status).toBe(200);
    for (const t of [a.token, s1]) expectUnauthorized(await c.get('/api/me', t));
    const s2 = (await c.post<{ token: string }>('/api/auth/login', { email: a.email, password: PASSWORD }))
      .body.token;
    expect((await c.get('/api/me', s2)).status).toBe(200);
  });

  /** Owner invites `role`; the invitee accepts the mailed invitation by choosing a password (signed in). */
  async function invite(owner: Account, role: string) {
    const email = uniqueEmail(`member-${role}`);
    const add = await c.post(`/api/orgs/${owner.orgId}/members`, { email, role }, owner.token);
    expect(add.status).toBe(201);
    const [mail] = await waitForMail(srv.mailer, email);
    const accepted = await c.post<{ userId: string; token: string }>('/api/auth/invitations/accept', {
      token: tokenFromMail(mail?.text ?? ''),
      password: 'Member-Chosen-Pass-31',
    });
    expect(accepted.status).toBe(200);
    return { userId: accepted.body.userId, token: accepted.body.token };
  }

  it("a removed member's still-valid JWT is refused at once (404 on that org)", async () => {
    const owner = await signupAccount(c, 'owner');
    const m = await invite(owner, 'member');
    const before = await c.get(`/api/orgs/${owner.orgId}`, m.token);
    expect(before.status).toBe(200);
    expect(before.body.role).toBe('member');
    expect(
      (await c.call('DELETE', `/api/orgs/${owner.orgId}/members/${m.userId}`, { token: owner.token })).status,
    ).toBe(200);
    const after = await c.get(`/api/orgs/${owner.orgId}`, m.token);
    expect(after.status).toBe(404);
    expect(after.body.error).toBe('not_found');
    expect((await c.get(`/api/orgs/${owner.orgId}/members`, m.token)).status).toBe(404);
    const me = await c.get<{ orgs: unknown[] }>('/api/me', m.token); // the session itself is still valid
    expect(me.status).toBe(200);
    expect(me.body.orgs).toEqual([]);
  });

  it('a role change takes effect on the next request with the same JWT', async () => {
    const owner = await signupAccount(c, 'promoter');
    const v = await invite(owner, 'viewer');
    const patch = () =>
      c.call('PATCH', `/api/orgs/${owner.orgId}/settings`, { token: v.token, body: { retentionDays: 45 } });
    const denied = await patch();
    expect(denied.status).toBe(403);
    expect(denied.body.error).toBe('forbidden');
    const promote = await c.call('PATCH', `/api/orgs/${owner.orgId}/members/${v.userId}`, {
      token: owner.token,
      body: { role: 'admin' },
    });
    expect(promote.status).toBe(200);
    const allowed = await patch();
    expect(allowed.status).toBe(200);
    expect(allowed.body.retentionDays).toBe(45);
    const demote = await c.call('PATCH', `/api/orgs/${owner.orgId}/members/${v.userId}`, {
      token: owner.token,
      body: { role: 'viewer' },
    });
    expect(demote.status).toBe(200);
    expect((await patch()).status).toBe(403);
  });

  async function credentials(owner: Account) {
    const key = await c.post<{ id: string; key: string }>(
      `/api/orgs/${owner.orgId}/api-keys`,
      { name: 'k' },
      owner.token,
    );
    const rt = await c.post<{ id: string; token: string }>(
      `/api/orgs/${owner.orgId}/runtime-tokens`,
      { name: 'r' },
      owner.token,
    );
    expect(key.status).toBe(201);
    expect(rt.status).toBe(201);
    expect(key.body.key).toMatch(/^rk_live_/);
    expect(rt.body.token).toMatch(/^rt_live_/);
    return { keyId: key.body.id, apiKey: key.body.key, rtId: rt.body.id, runtime: rt.body.token };
  }

  it('API keys and runtime tokens are refused on dashboard routes (401)', async () => {
    const owner = await signupAccount(c, 'creds');
    const { apiKey, runtime } = await credentials(owner);
    for (const t of [apiKey, runtime]) {
      expectUnauthorized(await c.get('/api/me', t));
      expectUnauthorized(await c.get(`/api/orgs/${owner.orgId}`, t));
      expectUnauthorized(await c.get(`/api/orgs/${owner.orgId}/api-keys`, t));
      expectUnauthorized(await c.post(`/api/orgs/${owner.orgId}/api-keys`, { name: 'escalate' }, t));
      expectUnauthorized(await c.post('/api/auth/logout-all', undefined, t));
    }
  });

  it('session JWTs and API keys are refused on the runtime route; a runtime token works there', async () => {
    const owner = await signupAccount(c, 'runtime');
    const { apiKey, runtime, rtId } = await credentials(owner);
    expectUnauthorized(await c.get('/api/runtime/whoami', owner.token));
    expectUnauthorized(await c.get('/api/runtime/whoami', apiKey));
    const ok = await c.get('/api/runtime/whoami', runtime);
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ orgId: owner.orgId, tokenId: rtId, scopes: ['sync', 'telemetry'] });
  });

  it('a revoked API key stops working immediately on this node (cached before revocation)', async () => {
    const owner = await signupAccount(c, 'revoke-key');
    const { apiKey, keyId } = await credentials(owner);
    const auth = srv.rampart.services.auth;
    const p = await auth.apiKey(fakeRequest(apiKey));
    expect(p).toMatchObject({ kind: 'api_key', keyId, orgId: owner.orgId });
    await auth.apiKey(fakeRequest(apiKey)); // now served from the credential cache
    const del = await c.call('DELETE', `/api/orgs/${owner.orgId}/api-keys/${keyId}`, { token: owner.token });
    expect(del.status).toBe(200);
    await expect(auth.apiKey(fakeRequest(apiKey))).rejects.toMatchObject({ code: 'unauthorized' });
    // And it is gone from the listing; revoking twice is a 404.
    const list = await c.get<{ keys: { id: string }[] }>(`/api/orgs/${owner.orgId}/api-keys`, owner.token);
    expect(list.body.keys.map((k) => k.id)).not.toContain(keyId);
    expect(
      (await c.call('DELETE', `/api/orgs/${owner.orgId}/api-keys/${keyId}`, { token: owner.token })).status,
    ).toBe(404);
  });

  it('a revoked runtime token gets 401 on whoami at once', async () => {
    const owner = await signupAccount(c, 'revoke-rt');
    const { runtime, rtId } = await credentials(owner);
    expect((await c.get('/api/runtime/whoami', runtime)).status).toBe(200);
    expect((await c.get('/api/runtime/whoami', runtime)).status).toBe(200); // cached
    const del = await c.call('DELETE', `/api/orgs/${owner.orgId}/runtime-tokens/${rtId}`, {
      token: owner.token,
    });
    expect(del.status).toBe(200);
    expectUnauthorized(await c.get('/api/runtime/whoami', runtime));
  });
});
