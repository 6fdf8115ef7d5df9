/**
 * The claim of a squatted account (docs/SECURITY-CONTROLS.md "The claim") must leave the squatter nothing that outlives
 * the owner's password reset: not a pending e-mail change to the squatter's address (confirming it afterwards
 * would move the claimed account, with the orgs the owner then joined, to the squatter), and not the squatter's
 * second factor (the owner would be locked out of the account of their own address). A plain reset or password
 * change after a compromise likewise voids an e-mail change the intruder left pending.
 */
import { api, lastResetToken, PASSWORD, signup, totpAt, uniqueEmail } from '@rampart/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, startTestServer } from './helpers.js';

type Srv = Awaited<ReturnType<typeof startTestServer>>;
type Me = { email: string; emailVerified: boolean; totpEnabled: boolean };

describe.each(ENGINES)('the claim leaves the squatter nothing (%s)', (engine) => {
  let srv: Srv;
  beforeAll(async () => {
    srv = await startTestServer(engine);
  });
  afterAll(() => srv?.close());

  const squatterPassword = 'attacker chosen 4242';

  /** The owner of `email` resets the password through the mailbox; returns the reset answer. */
  async function reset(email: string) {
    expect((await api(srv.baseUrl).post('/api/auth/forgot-password', { email })).status).toBe(202);
    const token = await lastResetToken(srv.mailer, email, 5_000, ['reset-password']);
    return api(srv.baseUrl).post<{ token?: string; claimed: boolean }>('/api/auth/reset-password', {
      token,
      password: PASSWORD,
    });
  }

  it("a squatter's pending e-mail change dies with the claim", async () => {
    const victim = uniqueEmail('claim-victim');
    const evil = uniqueEmail('claim-evil');
    const squatter = await signup(srv.baseUrl, { email: victim, password: squatterPassword });
    const change = await api(srv.baseUrl, squatter.token).post('/api/me/email', {
      password: squatterPassword,
      newEmail: evil,
    });
    expect(change.status).toBe(202);
    const changeToken = await lastResetToken(srv.mailer, evil, 5_000, ['confirm-email']);

    const claimed = await reset(victim);
    expect(claimed.body).toMatchObject({ claimed: true, token: expect.any(String) });

    const late = await api(srv.baseUrl).post<{ error: string }>('/api/auth/confirm-email-change', {
      token: changeToken,
    });
    expect(late.status).toBe(401);
    expect(late.body.error).toBe('invalid_credentials');
    const me = await api(srv.baseUrl, claimed.body.token).get<Me>('/api/me');
    expect(me.status).toBe(200);
    expect(me.body.email).toBe(victim);
  });

  it("the squatter's TOTP does not lock the claiming owner out", async () => {
    const victim = uniqueEmail('claim-totp');
    const squatter = await signup(srv.baseUrl, { email: victim, password: squatterPassword });
    const sq = api(srv.baseUrl, squatter.token);
    const enroll = await sq.post<{ secret: string }>('/api/auth/totp/enroll', { password: squatterPassword });
    expect(enroll.status).toBe(200);
    const confirmed = await sq.post('/api/auth/totp/confirm', {
      code: totpAt(enroll.body.secret, Date.now()),
    });
    expect(confirmed.status).toBe(200);

    const claimed = await reset(victim);
    expect(claimed.status).toBe(200);
    expect(claimed.body).toMatchObject({ claimed: true, token: expect.any(String) });
    const me = await api(srv.baseUrl, claimed.body.token).get<Me>('/api/me');
    expect(me.body).toMatchObject({ email: victim, emailVerified: true, totpEnabled: false });
    // The owner signs in with the password alone; the squatter's secret and recovery codes are gone.
    const login = await api(srv.baseUrl).post('/api/auth/login', { email: victim, password: PASSWORD });
    expect(login.status).toBe(200);
  });

  it('a CLI sign-in the squatter approved but has not collected yet yields nothing after the claim', async () => {
    const victim = uniqueEmail('claim-cli');
    const squatter = await signup(srv.baseUrl, { email: victim, password: squatterPassword });
    const form = (path: string, body: Record<string, string>) =>
      fetch(`${srv.baseUrl}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(body).toString(),
      }).then(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, unknown> }));
    const code = await form('/api/auth/device/code', { client_id: 'rampart-cli' });
    expect(code.status).toBe(200);
    const approved = await api(srv.baseUrl, squatter.token).post('/api/auth/device/approve', {
      userCode: code.body.user_code,
    });
    expect(approved.status).toBe(200);

    expect((await reset(victim)).body).toMatchObject({ claimed: true });
    const polled = await form('/api/auth/device/token', {
      grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
      device_code: String(code.body.device_code),
      client_id: 'rampart-cli',
    });
    expect(polled.body).not.toHaveProperty('access_token');
    expect(polled.status).toBe(400);
    expect(polled.body.error).toBe('access_denied');
  });

  it("an invitation the squatter sent from the claimed account's org cannot be accepted after the claim", async () => {
    const victim = uniqueEmail('claim-inv');
    const accomplice = uniqueEmail('accomplice');
    const squatter = await signup(srv.baseUrl, { email: victim, password: squatterPassword });
    const sent = await api(srv.baseUrl, squatter.token).post(`/api/orgs/${squatter.orgId}/members`, {
      email: accomplice,
      role: 'owner',
    });
    expect(sent.status).toBe(201);
    const link = await lastResetToken(srv.mailer, accomplice, 5_000, ['accept-invite']);

    expect((await reset(victim)).body).toMatchObject({ claimed: true });
    const late = await api(srv.baseUrl).post<{ error: string }>('/api/auth/invitations/accept', {
      token: link,
      password: 'accomplice password 4242',
    });
    expect(late.status).toBe(410);
    expect(late.body.error).toBe('link_expired');
  });

  it('a password change voids an e-mail change left pending by an intruder', async () => {
    const owner = await signup(srv.baseUrl);
    const evil = uniqueEmail('intruder');
    expect(
      (await api(srv.baseUrl, owner.token).post('/api/me/email', { password: PASSWORD, newEmail: evil }))
        .status,
    ).toBe(202);
    const changeToken = await lastResetToken(srv.mailer, evil, 5_000, ['confirm-email']);
    const changed = await api(srv.baseUrl, owner.token).post<{ token: string }>('/api/auth/change-password', {
      currentPassword: PASSWORD,
      newPassword: 'Another-Long-Passphrase-77',
    });
    expect(changed.status).toBe(200);
    const late = await api(srv.baseUrl).post('/api/auth/confirm-email-change', { token: changeToken });
    expect(late.status).toBe(401);
    expect((await api(srv.baseUrl, changed.body.token).get<Me>('/api/me')).body.email).toBe(owner.email);
  });
});
