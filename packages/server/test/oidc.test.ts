/**
 * Sign-in with OpenID Connect against a real OpenID provider on loopback (oidc-provider), browserless: the
 * redirects are followed with an HTTP client. The full flow creates an account; then every refusal the issue
 * names: a wrong state, a replayed code, a wrong nonce, a token for another audience, an expired token, and
 * linking with `email_verified: false`; plus the browser binding, linking with password proof, linking while
 * signed in, TOTP after OIDC, and the provider's client secret sealed and masked.
 */

import { api, freePort, lastResetToken, PASSWORD, signup, totpCode, uniqueEmail } from '@rampart/testing';
import * as oidcClient from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saveProvider } from '../src/identity/oidc/providers.js';
import type { OidcServices } from '../src/identity/oidc/services.js';
import { startTestServer } from './helpers.js';
import { followUntil, type Idp, Jar, startIdp } from './oidc-support.js';

type Srv = Awaited<ReturnType<typeof startTestServer>>;
const CLIENT_SECRET = 'idp-client-secret-0123456789abcdef';

describe('OpenID Connect sign-in (oidc-provider on loopback)', () => {
  let srv: Srv;
  let idp: Idp;
  let base: string;
  const callbackPrefix = () => `${base}/api/auth/oidc/callback`;

  beforeAll(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    idp = await startIdp([
      {
        client_id: 'rampart',
        client_secret: CLIENT_SECRET,
        redirect_uris: [`${base}/api/auth/oidc/callback`],
      },
      {
        client_id: 'other-app',
        client_secret: 'other-app-secret-0123456789',
        redirect_uris: ['http://127.0.0.1:9/cb'],
      },
    ]);
    srv = await startTestServer('pglite', {
      PORT: String(port),
      RAMPART_PUBLIC_URL: base,
      RAMPART_OUTBOUND_ALLOW: '127.0.0.1',
      // Every request here comes from 127.0.0.1; the per-IP limit itself is tested below with a low value.
      RAMPART_OIDC_PER_IP_PER_MINUTE: '100000',
    });
    await saveProvider(
      srv.rampart.services as unknown as OidcServices,
      {},
      {
        name: 'test-idp',
        displayName: 'Test IdP',
        issuer: idp.issuer,
        clientId: 'rampart',
        clientSecret: CLIENT_SECRET,
      },
    );
  }, 60_000);
  afterAll(async () => {
    await srv?.close();
    await idp?.close();
  });

  /** Starts a sign-in as `account`, follows the provider to our callback; returns what the browser holds. */
  async function toCallback(account: string, session?: string) {
    idp.loginAs = account;
    const res = await fetch(`${base}/api/auth/oidc/test-idp/start`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(session ? { authorization: `Bearer ${session}` } : {}),
      },
      body: JSON.stringify(session !== undefined ? { link: true, password: PASSWORD } : { link: false }),
    });
    expect(res.status, await res.clone().text()).toBe(200);
    const binding = /rampart_oidc=([^;]+)/.exec(res.headers.get('set-cookie') ?? '')?.[1] ?? '';
    expect(res.headers.get('set-cookie')).toMatch(/HttpOnly; SameSite=Lax/);
    const { authorizationUrl } = (await res.json()) as { authorizationUrl: string };
    const u = new URL(authorizationUrl);
    expect(u.searchParams.get('code_challenge_method')).toBe('S256');
    expect(u.searchParams.get('state')).toBeTruthy();
    expect(u.searchParams.get('nonce')).toBeTruthy();
    const callbackUrl = await followUntil(authorizationUrl, callbackPrefix(), new Jar());
    return { callbackUrl, binding, authorizationUrl };
  }

  /** Our callback: returns the fragment the dashboard would read. */
  async function callback(callbackUrl: string, binding: string | null) {
    const res = await fetch(callbackUrl, {
      redirect: 'manual',
      headers: binding ? { cookie: `rampart_oidc=${binding}` } : {},
    });
    expect(res.status).toBe(303);
    const loc = new URL(res.headers.get('location') ?? '');
    expect(loc.pathname).toBe('/login/oidc');
    expect(loc.search).toBe('');
    return Object.fromEntries(new URLSearchParams(loc.hash.slice(1)));
  }

  const exchange = (code: string, binding: string, extra: Record<string, string> = {}) =>
    api(base).request<{ token?: string; linkRequired?: boolean; error?: string; email?: string }>(
      'POST',
      '/api/auth/oidc/exchange',
      { code, ...extra },
      { cookie: `rampart_oidc=${binding}` },
    );

  const account = (email: string, verified = true) => {
    const id = `sub-${Math.random().toString(36).slice(2)}`;
    idp.accounts.set(id, { email, email_verified: verified, name: 'Ada Lovelace' });
    return id;
  };

  it('first sign-in creates the account and its org; the next one signs the same user in', async () => {
    const email = uniqueEmail('oidc-new');
    const sub = account(email);
    const { callbackUrl, binding } = await toCallback(sub);
    const frag = await callback(callbackUrl, binding);
    expect(frag.outcome).toBe('session');
    const r = await exchange(frag.code ?? '', binding);
    expect(r.status, r.text).toBe(200);
    const me = await api(base, r.body.token).get<{ email: string; orgs: Array<{ role: string }> }>('/api/me');
    expect(me.body.email).toBe(email);
    expect(me.body.orgs).toEqual([expect.objectContaining({ role: 'owner' })]);
    // The code is single use.
    expect((await exchange(frag.code ?? '', binding)).status).toBe(401);
    const again = await toCallback(sub);
    const frag2 = await callback(again.callbackUrl, again.binding);
    const r2 = await exchange(frag2.code ?? '', again.binding);
    const me2 = await api(base, r2.body.token).get<{ userId: string }>('/api/me');
    expect(me2.body.userId).toBe(
      (await api(base, r.body.token).get<{ userId: string }>('/api/me')).body.userId,
    );
  });

  it('with session "cookie", the exchange also sets the dashboard refresh cookie (15-minute JWT, same JSON)', async () => {
    const sub = account(uniqueEmail('oidc-cookie'));
    const { callbackUrl, binding } = await toCallback(sub);
    const frag = await callback(callbackUrl, binding);
    const r = await exchange(frag.code ?? '', binding, { session: 'cookie' });
    expect(r.status, r.text).toBe(200);
    expect(Object.keys(r.body as object).sort()).toEqual(['expiresAt', 'token']);
    const cookie = /rampart_refresh=(rrt_[\w-]+); Path=\/api\/auth\/session; HttpOnly; SameSite=Strict/.exec(
      r.headers.get('set-cookie') ?? '',
    )?.[1];
    expect(cookie).toBeDefined();
    const claims = JSON.parse(Buffer.from(String(r.body.token).split('.')[1] ?? '', 'base64url').toString());
    expect(claims.exp - claims.iat).toBe(900);
    const refreshed = await fetch(`${base}/api/auth/session`, {
      method: 'POST',
      headers: { origin: base, cookie: `rampart_refresh=${cookie}` },
    });
    expect(refreshed.status).toBe(200);
  });

  it('refuses a wrong state, and a replayed callback (the code cannot be redeemed twice)', async () => {
    const { callbackUrl, binding } = await toCallback(account(uniqueEmail('oidc-state')));
    const wrong = new URL(callbackUrl);
    wrong.searchParams.set('state', 'forged-state-value');
    expect(await callback(wrong.href, binding)).toEqual({ error: 'state_invalid' });
    const ok = await callback(callbackUrl, binding);
    expect(ok.outcome).toBe('session');
    expect(await callback(callbackUrl, binding)).toEqual({ error: 'state_invalid' });
  });

  it('refuses a callback in another browser (no binding cookie, or another one)', async () => {
    const { callbackUrl } = await toCallback(account(uniqueEmail('oidc-bind')));
    expect(await callback(callbackUrl, null)).toEqual({ error: 'browser_mismatch' });
    const other = await toCallback(account(uniqueEmail('oidc-bind2')));
    expect(await callback(other.callbackUrl, 'a'.repeat(43))).toEqual({ error: 'browser_mismatch' });
  });

  it('refuses an ID token whose nonce is not the one this sign-in sent', async () => {
    const { callbackUrl, binding, authorizationUrl } = await toCallback(account(uniqueEmail('oidc-nonce')));
    const state = new URL(authorizationUrl).searchParams.get('state') ?? '';
    const { createHash } = await import('node:crypto');
    await srv.rampart.services.db.platform((q) =>
      q.query('UPDATE oidc_login_states SET nonce = $2 WHERE state_hash = $1', [
        createHash('sha256').update(state).digest('hex'),
        'not-the-nonce-that-was-sent',
      ]),
    );
    expect(await callback(callbackUrl, binding)).toEqual({ error: 'token_invalid' });
  });

  it('refuses a genuine, provider-signed ID token issued to another client (audience)', async () => {
    const sub = account(uniqueEmail('oidc-aud'));
    const { callbackUrl, binding, authorizationUrl } = await toCallback(sub);
    const nonce = new URL(authorizationUrl).searchParams.get('nonce') ?? '';
    // Another client of the same provider gets a real ID token carrying our nonce.
    const cfg = await oidcClient.discovery(
      new URL(idp.issuer),
      'other-app',
      'other-app-secret-0123456789',
      undefined,
      {
        execute: [oidcClient.allowInsecureRequests],
      },
    );
    const verifier = oidcClient.randomPKCECodeVerifier();
    const otherUrl = oidcClient.buildAuthorizationUrl(cfg, {
      redirect_uri: 'http://127.0.0.1:9/cb',
      scope: 'openid email',
      nonce,
      state: 'other-state',
      code_challenge: await oidcClient.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    const otherCallback = await followUntil(otherUrl.href, 'http://127.0.0.1:9/cb', new Jar());
    const tokens = await oidcClient.authorizationCodeGrant(cfg, new URL(otherCallback), {
      pkceCodeVerifier: verifier,
      expectedState: 'other-state',
      expectedNonce: nonce,
    });
    expect(tokens.claims()?.aud).toBe('other-app');
    idp.swapIdToken = tokens.id_token ?? '';
    expect(await callback(callbackUrl, binding)).toEqual({ error: 'token_invalid' });
  });

  it('refuses an expired ID token', async () => {
    const { callbackUrl, binding } = await toCallback(account(uniqueEmail('oidc-exp')));
    idp.idTokenTtl = 1;
    // Held back until it is past exp plus our 5 s tolerance when the relying party checks it.
    idp.holdTokenMs = 7_000;
    try {
      expect(await callback(callbackUrl, binding)).toEqual({ error: 'token_invalid' });
    } finally {
      idp.idTokenTtl = 3600;
    }
  }, 20_000);

  it('never creates or links an account from an unverified e-mail', async () => {
    const fresh = await toCallback(account(uniqueEmail('oidc-unverified'), false));
    expect(await callback(fresh.callbackUrl, fresh.binding)).toEqual({ error: 'email_not_verified' });
    // An existing password account with that address: an unverified IdP e-mail must not take it over.
    const victim = await signup(base, { email: uniqueEmail('oidc-victim') });
    const attack = await toCallback(account(victim.email, false));
    expect(await callback(attack.callbackUrl, attack.binding)).toEqual({ error: 'email_not_verified' });
    const rows = await srv.rampart.services.db.platform((q) =>
      q.query('SELECT 1 FROM oidc_identities WHERE user_id = $1', [victim.userId]),
    );
    expect(rows.rows).toEqual([]);
  });

  it('links a verified identity to an existing account only with that account’s password', async () => {
    const owner = await signup(base, { email: uniqueEmail('oidc-link') });
    const sub = account(owner.email, true);
    const { callbackUrl, binding } = await toCallback(sub);
    const frag = await callback(callbackUrl, binding);
    expect(frag.outcome).toBe('link_required');
    const ex = await exchange(frag.code ?? '', binding);
    expect(ex.body).toEqual({ linkRequired: true, email: owner.email });
    const link = (password: string) =>
      api(base).request<{ token?: string; error?: string }>(
        'POST',
        '/api/auth/oidc/link',
        { code: frag.code, password },
        { cookie: `rampart_oidc=${binding}` },
      );
    const wrong = await link('not the password at all');
    expect(wrong.status).toBe(401);
    expect(wrong.body.error).toBe('invalid_credentials');
    const right = await link(PASSWORD);
    expect(right.status, right.text).toBe(200);
    const me = await api(base, right.body.token).get<{ userId: string }>('/api/me');
    expect(me.body.userId).toBe(owner.userId);
    // From now on the identity signs straight in.
    const next = await toCallback(sub);
    expect((await callback(next.callbackUrl, next.binding)).outcome).toBe('session');
  });

  it('links while signed in (even with another e-mail), and TOTP still applies to OIDC sign-ins', async () => {
    const owner = await signup(base, { email: uniqueEmail('oidc-self') });
    const sub = account(uniqueEmail('oidc-work-address'), true);
    const linked = await toCallback(sub, owner.token);
    const frag = await callback(linked.callbackUrl, linked.binding);
    expect(frag.outcome).toBe('session');
    const a = api(base, owner.token);
    const enroll = await a.post<{ secret: string }>('/api/auth/totp/enroll', { password: owner.password });
    expect((await a.post('/api/auth/totp/confirm', { code: totpCode(enroll.body.secret) })).status).toBe(200);
    const again = await toCallback(sub);
    const f2 = await callback(again.callbackUrl, again.binding);
    const noCode = await exchange(f2.code ?? '', again.binding);
    expect(noCode.status).toBe(401);
    expect(noCode.body.error).toBe('totp_required');
    const withCode = await exchange(f2.code ?? '', again.binding, { totp: totpCode(enroll.body.secret, 1) });
    expect(withCode.status, withCode.text).toBe(200);
    const me = await api(base, withCode.body.token).get<{ userId: string }>('/api/me');
    expect(me.body.userId).toBe(owner.userId);
  });

  it('a sign-in result held across the unlinking of its identity (a claim) gives no session', async () => {
    // A squatter links their own provider identity to an account signed up with someone else's address, then
    // keeps a finished sign-in (a one-time code, 2 minutes) in hand while the owner claims the account.
    const victim = uniqueEmail('oidc-claimed');
    const squatter = await signup(base, { email: victim });
    const sub = account(uniqueEmail('squatter-idp'), true);
    const linked = await toCallback(sub, squatter.token);
    expect((await callback(linked.callbackUrl, linked.binding)).outcome).toBe('session');
    const held = await toCallback(sub);
    const frag = await callback(held.callbackUrl, held.binding);
    expect(frag.outcome).toBe('session');

    expect((await api(base).post('/api/auth/forgot-password', { email: victim })).status).toBe(202);
    const reset = await api(base).post<{ claimed: boolean }>('/api/auth/reset-password', {
      token: await lastResetToken(srv.mailer, victim, 5_000, ['reset-password']),
      password: 'the owner now 4242',
    });
    expect(reset.body.claimed).toBe(true);
    const late = await exchange(frag.code ?? '', held.binding);
    expect(late.body.token).toBeUndefined();
    expect(late.status).toBe(401);
  });

  it('linking while signed in needs the password too; links are listed and can be removed; the issuer cannot be swapped', async () => {
    const owner = await signup(base, { email: uniqueEmail('oidc-proof') });
    const noProof = await api(base, owner.token).post<{ error: string }>('/api/auth/oidc/test-idp/start', {
      link: true,
    });
    expect(noProof.status).toBe(400);
    const wrong = await api(base, owner.token).post<{ error: string }>('/api/auth/oidc/test-idp/start', {
      link: true,
      password: 'not the password',
    });
    expect(wrong.status).toBe(401);
    const sub = account(uniqueEmail('oidc-proof-work'), true);
    const linked = await toCallback(sub, owner.token);
    expect((await callback(linked.callbackUrl, linked.binding)).outcome).toBe('session');
    const list = await api(base, owner.token).get<{ identities: Array<{ id: string; provider: string }> }>(
      '/api/auth/oidc/identities',
    );
    expect(list.body.identities).toEqual([expect.objectContaining({ provider: 'test-idp' })]);
    const id = list.body.identities[0]?.id ?? '';
    const stranger = await signup(base);
    const unlink = (token: string, body: unknown) =>
      api(base, token).del(`/api/auth/oidc/identities/${id}`, body);
    // Unlinking is an account action: the password (and TOTP when on) is required, like linking.
    expect((await unlink(owner.token, {})).status).toBe(400);
    expect((await unlink(owner.token, { password: 'not the password' })).status).toBe(401);
    expect((await unlink(stranger.token, { password: stranger.password })).status).toBe(404);
    expect((await unlink(owner.token, { password: owner.password })).status).toBe(200);
    // Both changes are mailed to the account's own address.
    await expect
      .poll(() =>
        srv.mailer.sent
          // Not the sign-up's address confirmation (issue 20): only the notices of this account's changes.
          .filter((m) => m.to === owner.email && !m.text.includes('/verify-email#token='))
          .map((m) => m.subject),
      )
      .toEqual([
        'A sign-in provider was linked to your Rampart account',
        'A sign-in provider was unlinked from your Rampart account',
      ]);
    // Unlinked: the identity now needs linking again (its e-mail is not an account's, so it would create one).
    const after = await toCallback(sub);
    expect((await callback(after.callbackUrl, after.binding)).outcome).toBe('session');
    const swap = saveProvider(
      srv.rampart.services as unknown as OidcServices,
      {},
      {
        name: 'test-idp',
        displayName: 'Test IdP',
        issuer: 'https://another-issuer.example.com',
        clientId: 'rampart',
      },
    );
    await expect(swap).rejects.toMatchObject({ code: 'conflict' });
  });

  it('limits sign-in starts per IP (429 with Retry-After)', async () => {
    const limited = await startTestServer('pglite', { RAMPART_OIDC_PER_IP_PER_MINUTE: '2' });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++)
        statuses.push((await api(limited.baseUrl).post('/api/auth/oidc/nope/start', {})).status);
      // Unknown provider: 404 while within the budget, then 429 before any lookup.
      expect(statuses).toEqual([404, 404, 429]);
    } finally {
      await limited.close();
    }
  });

  it('lists providers publicly without secrets; only operators configure them; the secret is sealed', async () => {
    const list = await api(base).get<{ providers: unknown[] }>('/api/auth/oidc/providers');
    expect(list.body.providers).toEqual([{ name: 'test-idp', displayName: 'Test IdP' }]);
    expect(list.text).not.toContain(CLIENT_SECRET);
    const user = await signup(base);
    const put = await api(base, user.token).put<{ error: string }>('/api/admin/oidc-providers/google', {
      preset: 'google',
      clientId: 'x.apps.googleusercontent.com',
      clientSecret: 'GOCSPX-not-allowed-0000',
    });
    expect(put.status).toBe(403);
    const { rows } = await srv.rampart.services.db.platform((q) =>
      q.query<{ client_secret_sealed: string; client_secret_masked: string }>(
        'SELECT client_secret_sealed, client_secret_masked FROM oidc_providers',
      ),
    );
    expect(rows[0]?.client_secret_sealed.startsWith('v1.')).toBe(true);
    expect(JSON.stringify(rows)).not.toContain(CLIENT_SECRET);
    expect(srv.logs.join('\n')).not.toContain(CLIENT_SECRET);
  });
});
