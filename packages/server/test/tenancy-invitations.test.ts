/**
 * Issue 20 part 3: the sign-up-first attack and the invitation flow that closes it. Someone signs up with an
 * address before its owner; an org then "adds" the address. Before the fix the squatter was a member at once, with
 * the full role, and could read the org's secrets and mint keys. Now adding creates a pending invitation that only
 * the verified owner of the address can accept; the owner claims the squatted account through a password reset,
 * which kills everything the squatter held.
 */
import { randomBytes } from 'node:crypto';
import {
  type Account,
  addMemberWithRole,
  api,
  invite,
  lastResetToken,
  PASSWORD,
  signup,
  uniqueEmail,
  verifyEmail,
} from '@rampart/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tablesContaining } from './fixtures.js';
import { ENGINES, startTestServer } from './helpers.js';

type Srv = Awaited<ReturnType<typeof startTestServer>>;
type Err = { error: string; message: string };
type Me = { email: string; emailVerified: boolean; orgs: { orgId: string; role: string }[] };

describe.each(ENGINES)('invitations and e-mail verification (%s)', (engine) => {
  let srv: Srv;
  let owner: Account;
  const org = (p = '') => `/api/orgs/${owner.orgId}${p}`;
  const sql = (text: string, params: unknown[] = []) =>
    srv.rampart.services.db.owner((q) => q.query(text, params));

  beforeAll(async () => {
    srv = await startTestServer(engine);
    owner = await signup(srv.baseUrl, { orgName: `Target ${randomBytes(3).toString('hex')}` });
    await verifyEmail(srv, owner.email);
    expect(
      (await api(srv.baseUrl, owner.token).put(org('/secrets/PROD_DB'), { value: 'sk-prod-9876543210' }))
        .status,
    ).toBe(200);
  });
  afterAll(() => srv?.close());

  it('the squatter of an address gets nothing; the real owner claims it, accepts and gets the role', async () => {
    const victim = uniqueEmail('victim');
    // 1. The attacker signs up with the victim's address first, and mints a key in their own new org (allowed:
    //    the sign-up flow for scripts works without mail, alone in its org).
    const attacker = await signup(srv.baseUrl, { email: victim, password: 'attacker chosen 4242' });
    const atk = api(srv.baseUrl, attacker.token);
    const ownKey = await atk.post<{ key: string }>(`/api/orgs/${attacker.orgId}/api-keys`, { name: 'mine' });
    expect(ownKey.status).toBe(201);
    const ownRt = await atk.post<{ token: string }>(`/api/orgs/${attacker.orgId}/runtime-tokens`, {
      name: 'rt',
    });
    expect(ownRt.status).toBe(201);
    expect((await api(srv.baseUrl, ownKey.body.key).get('/v1/models')).status).toBe(200);

    // 2. The org adds the address: a pending invitation, nobody attached.
    const added = await api(srv.baseUrl, owner.token).post<Record<string, unknown>>(org('/members'), {
      email: victim,
      role: 'admin',
    });
    expect(added.status).toBe(201);
    expect(added.body).toMatchObject({ email: victim, role: 'admin', status: 'pending' });
    expect(added.body).not.toHaveProperty('userId');
    const me = await atk.get<Me>('/api/me');
    expect(me.body.emailVerified).toBe(false);
    expect(me.body.orgs.map((o) => o.orgId)).not.toContain(owner.orgId);
    expect((await atk.get<Err>(org('/secrets'))).status).toBe(404);
    expect((await atk.post<Err>(org('/api-keys'), { name: 'steal' })).status).toBe(404);
    const members = await api(srv.baseUrl, owner.token).get<{ members: { email: string }[] }>(
      org('/members'),
    );
    expect(members.body.members.map((m) => m.email)).not.toContain(victim);

    // 3. Even holding the link, the unverified squatter cannot accept it, nor take it over with a password.
    const inviteToken = await lastResetToken(srv.mailer, victim, 5_000, ['accept-invite']);
    const refused = await atk.post<Err>('/api/auth/invitations/accept', { token: inviteToken });
    expect(refused.status).toBe(403);
    expect(refused.body.error).toBe('email_unverified');
    const noSession = await api(srv.baseUrl).post<Err>('/api/auth/invitations/accept', {
      token: inviteToken,
      password: 'another password 777',
    });
    expect(noSession.status).toBe(401);
    expect((await atk.get<Me>('/api/me')).body.orgs.map((o) => o.orgId)).not.toContain(owner.orgId);

    // 4. The address's owner claims the account through the mailbox: reset, signed in, verified.
    expect((await api(srv.baseUrl).post('/api/auth/forgot-password', { email: victim })).status).toBe(202);
    const reset = await api(srv.baseUrl).post<{ ok: true; token: string; claimed: boolean }>(
      '/api/auth/reset-password',
      { token: await lastResetToken(srv.mailer, victim, 5_000, ['reset-password']), password: PASSWORD },
    );
    expect(reset.status).toBe(200);
    expect(reset.body).toMatchObject({ ok: true, claimed: true, expiresAt: expect.any(String) });
    const real = api(srv.baseUrl, reset.body.token);
    expect((await real.get<Me>('/api/me')).body.emailVerified).toBe(true);

    // 5. Everything the squatter held is dead: session, API key, runtime token.
    expect((await atk.get('/api/me')).status).toBe(401);
    await expect
      .poll(async () => (await api(srv.baseUrl, ownKey.body.key).get('/v1/models')).status)
      .toBe(401);
    expect((await api(srv.baseUrl, ownRt.body.token).get('/api/runtime/whoami')).status).toBe(401);
    const events = await real.get<{ events: { action: string; meta: Record<string, unknown> }[] }>(
      '/api/me/events',
    );
    expect(events.body.events.find((e) => e.action === 'auth.account_claimed')?.meta).toMatchObject({
      revokedKeys: 1,
      revokedRuntimes: 1,
    });

    // 6. The owner accepts the invitation signed in as the address and gets the role.
    const accepted = await real.post<{ orgId: string; role: string }>('/api/auth/invitations/accept', {
      token: inviteToken,
    });
    expect(accepted.status).toBe(200);
    expect(accepted.body).toMatchObject({ orgId: owner.orgId, role: 'admin' });
    expect((await real.get<Me>('/api/me')).body.orgs).toContainEqual(
      expect.objectContaining({ orgId: owner.orgId, role: 'admin' }),
    );
    expect((await real.get(org('/secrets'))).status).toBe(200);
    const audit = await api(srv.baseUrl, owner.token).get<{ entries: { action: string; meta: unknown }[] }>(
      org('/audit?limit=500'),
    );
    const actions = audit.body.entries.map((e) => e.action);
    expect(actions).toContain('member.invited');
    expect(audit.body.entries.find((e) => e.action === 'member.added')?.meta).toMatchObject({
      role: 'admin',
      via: 'invitation',
    });
    // Only hashes at rest.
    expect(await tablesContaining(srv.rampart.services.db, inviteToken)).toEqual([]);
  });

  it('a new person accepts by choosing a password (policy enforced) and is signed in, verified', async () => {
    const email = uniqueEmail('newbie');
    const token = await invite(srv, owner.token, owner.orgId, email, 'viewer');
    const look = await api(srv.baseUrl).post('/api/auth/invitations/lookup', { token });
    expect(look.body).toMatchObject({ email, role: 'viewer', accountExists: false, status: 'pending' });
    expect(look.body).toHaveProperty('orgName');
    const weak = await api(srv.baseUrl).post<Err>('/api/auth/invitations/accept', {
      token,
      password: 'short',
    });
    expect(weak.status).toBe(400);
    const ok = await api(srv.baseUrl).post<{ token: string; role: string }>('/api/auth/invitations/accept', {
      token,
      password: PASSWORD,
    });
    expect(ok.status).toBe(200);
    expect(ok.body).toHaveProperty('expiresAt');
    const me = await api(srv.baseUrl, ok.body.token).get<Me>('/api/me');
    expect(me.body).toMatchObject({ email, emailVerified: true });
    expect(me.body.orgs).toContainEqual(expect.objectContaining({ orgId: owner.orgId, role: 'viewer' }));
    // Single use.
    const again = await api(srv.baseUrl).post<Err & { details?: unknown }>('/api/auth/invitations/accept', {
      token,
      password: PASSWORD,
    });
    expect(again.status).toBe(410);
    expect(again.body.error).toBe('link_expired');
    expect((await api(srv.baseUrl).post('/api/auth/invitations/lookup', { token })).body).toMatchObject({
      status: 'used',
    });
  });

  it('expired, replaced and revoked invitations cannot be accepted', async () => {
    const email = uniqueEmail('late');
    const first = await invite(srv, owner.token, owner.orgId, email, 'member');
    const second = await invite(srv, owner.token, owner.orgId, email, 'member');
    const lookup = async (token: string) =>
      (await api(srv.baseUrl).post<{ status: string }>('/api/auth/invitations/lookup', { token })).body
        .status;
    expect(await lookup(first)).toBe('revoked');
    const accept = (token: string) =>
      api(srv.baseUrl).post<Err>('/api/auth/invitations/accept', { token, password: PASSWORD });
    expect((await accept(first)).status).toBe(410);
    const list = await api(srv.baseUrl, owner.token).get<{
      invitations: { invitationId: string; email: string }[];
    }>(org('/invitations'));
    const open = list.body.invitations.filter((i) => i.email === email);
    expect(open).toHaveLength(1);
    await sql(`UPDATE org_invitations SET expires_at = now() - interval '1 second' WHERE id = $1`, [
      open[0]?.invitationId,
    ]);
    expect(await lookup(second)).toBe('expired');
    expect((await accept(second)).status).toBe(410);

    const third = await invite(srv, owner.token, owner.orgId, email, 'member');
    const id = (
      await api(srv.baseUrl, owner.token).get<{ invitations: { invitationId: string; email: string }[] }>(
        org('/invitations'),
      )
    ).body.invitations.find((i) => i.email === email)?.invitationId;
    expect((await api(srv.baseUrl, owner.token).del(org(`/invitations/${id}`))).status).toBe(200);
    expect((await api(srv.baseUrl, owner.token).del<Err>(org(`/invitations/${id}`))).status).toBe(404);
    expect(await lookup(third)).toBe('revoked');
    expect((await accept(third)).status).toBe(410);
    expect(
      (await api(srv.baseUrl).post<Err>('/api/auth/invitations/lookup', { token: 'x'.repeat(43) })).status,
    ).toBe(404);
  });

  it('an existing account must be signed in as the invited address and verified; members are not re-invited', async () => {
    const invitee = await signup(srv.baseUrl);
    const token = await invite(srv, owner.token, owner.orgId, invitee.email, 'member');
    const look = await api(srv.baseUrl).post('/api/auth/invitations/lookup', { token });
    expect(look.body).toMatchObject({ accountExists: true });
    // Someone else, verified, signed in.
    const other = await signup(srv.baseUrl);
    await verifyEmail(srv, other.email);
    const wrong = await api(srv.baseUrl, other.token).post<Err>('/api/auth/invitations/accept', { token });
    expect(wrong.status).toBe(403);
    expect(wrong.body.error).toBe('forbidden');
    const unverified = await api(srv.baseUrl, invitee.token).post<Err>('/api/auth/invitations/accept', {
      token,
    });
    expect(unverified.body.error).toBe('email_unverified');
    await verifyEmail(srv, invitee.email);
    const ok = await api(srv.baseUrl, invitee.token).post('/api/auth/invitations/accept', { token });
    expect(ok.status).toBe(200);
    const dup = await api(srv.baseUrl, owner.token).post<Err>(org('/members'), {
      email: invitee.email.toUpperCase(),
      role: 'viewer',
    });
    expect(dup.status).toBe(409);
  });

  it('an unverified account keeps its own org but cannot mint credentials once others are in it', async () => {
    const solo = await signup(srv.baseUrl);
    const s = api(srv.baseUrl, solo.token);
    const keys = `/api/orgs/${solo.orgId}/api-keys`;
    expect((await s.post(keys, { name: 'alone' })).status).toBe(201);
    // A colleague joins (the invitation path itself does not need the inviter verified).
    const colleague = uniqueEmail('colleague');
    expect(
      (await s.post(`/api/orgs/${solo.orgId}/members`, { email: colleague, role: 'member' })).status,
    ).toBe(201);
    const token = await lastResetToken(srv.mailer, colleague, 5_000, ['accept-invite']);
    expect(
      (await api(srv.baseUrl).post('/api/auth/invitations/accept', { token, password: PASSWORD })).status,
    ).toBe(200);
    const refused = await s.post<Err>(keys, { name: 'with others' });
    expect(refused.status).toBe(403);
    expect(refused.body.error).toBe('email_unverified');
    expect((await s.post<Err>(`/api/orgs/${solo.orgId}/runtime-tokens`, { name: 'rt' })).body.error).toBe(
      'email_unverified',
    );
    await verifyEmail(srv, solo.email);
    expect((await s.post(keys, { name: 'verified' })).status).toBe(201);
  });

  it('verification links are single use and expire; resend is for unverified sessions only', async () => {
    const a = await signup(srv.baseUrl);
    const token = await lastResetToken(srv.mailer, a.email, 5_000, ['verify-email']);
    await sql(`UPDATE email_verifications SET expires_at = now() - interval '1 second' WHERE user_id = $1`, [
      a.userId,
    ]);
    const mine = api(srv.baseUrl, a.token);
    const expired = await mine.post<Err>('/api/auth/verify-email', { token });
    expect(expired.status).toBe(410);
    expect((await mine.post('/api/auth/verify-email/resend')).status).toBe(202);
    const fresh = await lastResetToken(srv.mailer, a.email, 5_000, ['verify-email']);
    // The link alone is not enough: no session, or another account's session, confirms nothing.
    expect((await api(srv.baseUrl).post<Err>('/api/auth/verify-email', { token: fresh })).status).toBe(401);
    expect(
      (await api(srv.baseUrl, owner.token).post<Err>('/api/auth/verify-email', { token: fresh })).body.error,
    ).toBe('forbidden');
    expect((await mine.post('/api/auth/verify-email', { token: fresh })).status).toBe(200);
    expect((await mine.post<Err>('/api/auth/verify-email', { token: fresh })).status).toBe(410);
    expect((await api(srv.baseUrl, a.token).get<Me>('/api/me')).body.emailVerified).toBe(true);
    expect((await api(srv.baseUrl, a.token).post<Err>('/api/auth/verify-email/resend')).status).toBe(409);
  });

  it('an admin cannot replace an open owner invitation by re-inviting the address', async () => {
    const admin = await addMemberWithRole(srv, owner.token, owner.orgId, 'admin');
    const email = uniqueEmail('future-owner');
    const ownerLink = await invite(srv, owner.token, owner.orgId, email, 'owner');
    const replaced = await api(srv.baseUrl, admin.token).post<Err>(org('/members'), {
      email,
      role: 'viewer',
    });
    expect(replaced.status).toBe(403);
    expect(replaced.body.error).toBe('forbidden');
    const look = await api(srv.baseUrl).post<{ status: string; role: string }>(
      '/api/auth/invitations/lookup',
      {
        token: ownerLink,
      },
    );
    expect(look.body).toMatchObject({ status: 'pending', role: 'owner' });
  });

  it("another org's invitations answer 404", async () => {
    const token = await invite(srv, owner.token, owner.orgId, uniqueEmail('x'), 'member');
    expect(token).toBeTruthy();
    const id = (
      await api(srv.baseUrl, owner.token).get<{ invitations: { invitationId: string }[] }>(
        org('/invitations'),
      )
    ).body.invitations[0]?.invitationId;
    const other = await signup(srv.baseUrl);
    const o = api(srv.baseUrl, other.token);
    expect((await o.del<Err>(`/api/orgs/${other.orgId}/invitations/${id}`)).status).toBe(404);
    expect((await o.del<Err>(org(`/invitations/${id}`))).status).toBe(404);
    expect((await o.get<Err>(org('/invitations'))).status).toBe(404);
  });
});
