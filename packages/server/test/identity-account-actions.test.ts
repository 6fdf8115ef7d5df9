/**
 * The account page's actions (issue 20 part 5) through the HTTP stack: each re-authenticates (password, plus
 * TOTP or a recovery code when TOTP is on), sends its security notice (MemoryMailer, delivered by the outbox
 * worker) and writes its account event; e-mail change confirmed from the new address (single use, expiring,
 * taken address); recovery codes rotate; GDPR erasure refused for a sole owner with members, otherwise removing
 * the user everywhere while the audit logs keep only the id.
 */
import { randomUUID } from 'node:crypto';
import {
  type Account,
  addExistingMember,
  api,
  type Client,
  client,
  invite,
  PASSWORD,
  signupAccount,
  tokenFromMail,
  totpAt,
  uniqueEmail,
  verifyEmail,
  waitForMail,
} from '@rampart/testing';
import type { FastifyRequest } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueueMail } from '../src/mail/outbox.js';
import { verifyChain } from '../src/platform/audit/verify.js';
import { tablesContaining } from './fixtures.js';
import { ENGINES, startTestServer } from './helpers.js';

type Server = Awaited<ReturnType<typeof startTestServer>>;
const STEP_MS = 30_000;
const SUBJECT = {
  password: 'Your Rampart password was changed',
  emailChange: 'Confirm your new e-mail address for Rampart',
  emailChanged: 'The e-mail address of your Rampart account was changed',
  totpOff: 'Two-factor authentication was turned off',
  codes: 'New Rampart recovery codes were issued',
  deleted: 'Your Rampart account was deleted',
};

describe.each(ENGINES)('account actions (%s)', (engine) => {
  let srv: Server;
  beforeAll(async () => {
    srv = await startTestServer(engine, { RAMPART_TRUST_PROXY: '127.0.0.1' });
  });
  afterAll(() => srv?.close());

  /** A fresh client (own source IP) and account. */
  async function fresh(tag: string): Promise<{ c: Client; a: Account }> {
    const c = client(srv.baseUrl);
    return { c, a: await signupAccount(c, tag) };
  }

  /** Turns TOTP on; uses up the current step. */
  async function enableTotp(c: Client, a: Account) {
    const enroll = await c.post<{ secret: string }>(
      '/api/auth/totp/enroll',
      { password: a.password },
      a.token,
    );
    expect(enroll.status).toBe(200);
    const confirm = await c.post<{ recoveryCodes: string[] }>(
      '/api/auth/totp/confirm',
      { code: totpAt(enroll.body.secret, Date.now()) },
      a.token,
    );
    expect(confirm.status).toBe(200);
    return { secret: enroll.body.secret, codes: confirm.body.recoveryCodes };
  }
  const nextCode = (secret: string) => totpAt(secret, Date.now() + STEP_MS);

  const subjectsTo = (to: string) => srv.mailer.sent.filter((m) => m.to === to).map((m) => m.subject);
  const events = async (c: Client, token: string) =>
    (await c.get<{ events: Array<{ action: string }> }>('/api/me/events', token)).body.events.map(
      (e) => e.action,
    );

  it('change password: TOTP required when on, notice mailed, audited', async () => {
    const { c, a } = await fresh('acct-pw');
    const { secret } = await enableTotp(c, a);
    const body = { currentPassword: a.password, newPassword: 'Another-Long-Passphrase-77' };
    const missing = await c.post('/api/auth/change-password', body, a.token);
    expect(missing.status).toBe(401);
    expect(missing.body.error).toBe('totp_required');
    const wrong = await c.post(
      '/api/auth/change-password',
      { ...body, currentPassword: 'not-the-password-1', totp: nextCode(secret) },
      a.token,
    );
    expect(wrong.body.error).toBe('invalid_credentials');
    const ok = await c.post<{ token: string }>(
      '/api/auth/change-password',
      { ...body, totp: nextCode(secret) },
      a.token,
    );
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    await expect.poll(() => subjectsTo(a.email)).toContain(SUBJECT.password);
    expect(await events(c, ok.body.token)).toEqual(
      expect.arrayContaining(['auth.password_changed', 'auth.reauth_failed']),
    );
  });

  it('e-mail change: link to the new address, single use, old address notified, sessions end', async () => {
    const { c, a } = await fresh('acct-mail');
    const newEmail = uniqueEmail('acct-mail-new');
    const wrong = await c.post('/api/me/email', { password: 'not-the-password-1', newEmail }, a.token);
    expect(wrong.body.error).toBe('invalid_credentials');
    const same = await c.post('/api/me/email', { password: a.password, newEmail: a.email }, a.token);
    expect(same.status).toBe(400);
    const req = await c.post('/api/me/email', { password: a.password, newEmail }, a.token);
    expect(req.status).toBe(202);
    const [mail] = await waitForMail(srv.mailer, newEmail);
    expect(mail?.subject).toBe(SUBJECT.emailChange);
    expect(mail?.text).toContain('/confirm-email#token=');
    const token = tokenFromMail(mail?.text ?? '');
    expect(await tablesContaining(srv.rampart.services.db, token)).toEqual([]);
    // Nothing changes until the link is opened.
    expect((await c.get('/api/me', a.token)).body.email).toBe(a.email);

    const bogus = await c.post('/api/auth/confirm-email-change', { token: `${token.slice(0, -4)}AAAA` });
    expect(bogus.body.error).toBe('invalid_credentials');
    const done = await c.post('/api/auth/confirm-email-change', { token });
    expect(done.status).toBe(200);
    expect(done.body.email).toBe(newEmail);
    const again = await c.post('/api/auth/confirm-email-change', { token });
    expect(again.status).toBe(401);
    expect(again.body.error).toBe('invalid_credentials');

    await expect.poll(() => subjectsTo(a.email)).toContain(SUBJECT.emailChanged);
    expect(
      srv.mailer.sent.find((m) => m.subject === SUBJECT.emailChanged && m.to === a.email)?.text,
    ).not.toContain(newEmail);
    expect((await c.get('/api/me', a.token)).status).toBe(401);
    expect((await c.post('/api/auth/login', { email: a.email, password: PASSWORD })).status).toBe(401);
    const signedIn = await c.post<{ token: string }>('/api/auth/login', {
      email: newEmail,
      password: PASSWORD,
    });
    expect(signedIn.status).toBe(200);
    const me = await c.get('/api/me', signedIn.body.token);
    expect(me.body.email).toBe(newEmail);
    const verified = await srv.rampart.services.db.platform((q) =>
      q.query<{ at: Date | null }>('SELECT email_verified_at AS at FROM users WHERE id = $1', [a.userId]),
    );
    expect(Date.now() - (verified.rows[0]?.at?.getTime() ?? 0)).toBeLessThan(60_000);
    expect(await events(c, signedIn.body.token)).toEqual(
      expect.arrayContaining(['auth.email_change_requested', 'auth.email_changed']),
    );
  });

  it('e-mail change: an expired link and a taken address fail, the latter only at confirmation', async () => {
    const { c, a } = await fresh('acct-mail2');
    const { a: other } = await fresh('acct-mail2-other');
    // Taken: the request is answered exactly like any other; the confirmation says what happened.
    const req = await c.post('/api/me/email', { password: a.password, newEmail: other.email }, a.token);
    expect(req.status).toBe(202);
    const [mail] = await waitForMail(srv.mailer, other.email);
    const taken = await c.post('/api/auth/confirm-email-change', { token: tokenFromMail(mail?.text ?? '') });
    expect(taken.status).toBe(409);
    expect(taken.body.error).toBe('conflict');
    expect((await c.get('/api/me', a.token)).body.email).toBe(a.email);

    const target = uniqueEmail('acct-mail2-new');
    expect((await c.post('/api/me/email', { password: a.password, newEmail: target }, a.token)).status).toBe(
      202,
    );
    const [m2] = await waitForMail(srv.mailer, target);
    await srv.rampart.services.db.platform((q) =>
      q.query(`UPDATE email_changes SET expires_at = now() - interval '1 minute' WHERE new_email = $1`, [
        target,
      ]),
    );
    const expired = await c.post('/api/auth/confirm-email-change', { token: tokenFromMail(m2?.text ?? '') });
    expect(expired.status).toBe(401);
    expect((await c.get('/api/me', a.token)).body.email).toBe(a.email);
  });

  it('TOTP off: needs the password and a code; notice; audited; sign-in no longer asks for a code', async () => {
    const { c, a } = await fresh('acct-totp');
    const { codes } = await enableTotp(c, a);
    const missing = await c.post('/api/me/totp/disable', { password: a.password }, a.token);
    expect(missing.body.error).toBe('totp_required');
    const wrongPw = await c.post(
      '/api/me/totp/disable',
      { password: 'not-the-password-1', recoveryCode: codes[0] },
      a.token,
    );
    expect(wrongPw.body.error).toBe('invalid_credentials');
    const wrongCode = await c.post(
      '/api/me/totp/disable',
      { password: a.password, recoveryCode: 'aaaa-bbbb-cccc' },
      a.token,
    );
    expect(wrongCode.body.error).toBe('invalid_credentials');
    const ok = await c.post(
      '/api/me/totp/disable',
      { password: a.password, recoveryCode: codes[1] },
      a.token,
    );
    expect(ok.status).toBe(200);
    await expect.poll(() => subjectsTo(a.email)).toContain(SUBJECT.totpOff);
    expect((await c.get('/api/me', a.token)).body.totpEnabled).toBe(false);
    expect((await c.post('/api/auth/login', { email: a.email, password: PASSWORD })).status).toBe(200);
    expect((await c.post('/api/me/totp/disable', { password: a.password }, a.token)).status).toBe(409);
    expect(await events(c, a.token)).toContain('auth.totp_disabled');
  });

  it('new recovery codes: shown once, the old ones stop working, notice, audited', async () => {
    const { c, a } = await fresh('acct-codes');
    const { secret, codes: old } = await enableTotp(c, a);
    const missing = await c.post('/api/me/recovery-codes', { password: a.password }, a.token);
    expect(missing.body.error).toBe('totp_required');
    const r = await c.post<{ recoveryCodes: string[] }>(
      '/api/me/recovery-codes',
      { password: a.password, totp: nextCode(secret) },
      a.token,
    );
    expect(r.status).toBe(200);
    const fresh10 = r.body.recoveryCodes;
    expect(new Set(fresh10).size).toBe(10);
    expect(fresh10.filter((x) => old.includes(x))).toEqual([]);
    for (const code of fresh10) expect(await tablesContaining(srv.rampart.services.db, code)).toEqual([]);
    const withOld = await c.post('/api/auth/login', {
      email: a.email,
      password: PASSWORD,
      recoveryCode: old[0],
    });
    expect(withOld.status).toBe(401);
    const withNew = await c.post('/api/auth/login', {
      email: a.email,
      password: PASSWORD,
      recoveryCode: fresh10[0],
    });
    expect(withNew.status).toBe(200);
    await expect.poll(() => subjectsTo(a.email)).toContain(SUBJECT.codes);
    expect(await events(c, a.token)).toContain('auth.recovery_codes_regenerated');
  });

  it('an account without a password is told to set one first (password_required)', async () => {
    const { c, a } = await fresh('acct-nopw');
    await srv.rampart.services.db.platform((q) =>
      q.query('UPDATE users SET password_hash = NULL WHERE id = $1', [a.userId]),
    );
    for (const [path, body] of [
      ['/api/me/totp/disable', { password: 'anything-at-all' }],
      ['/api/me/email', { password: 'anything-at-all', newEmail: uniqueEmail('acct-nopw-new') }],
    ] as const) {
      const r = await c.post(path, body, a.token);
      expect(r.status, path).toBe(403);
      expect(r.body.error).toBe('password_required');
    }
    const del = await c.call('DELETE', '/api/me', {
      token: a.token,
      body: { password: 'anything-at-all', confirm: a.email },
    });
    expect(del.body.error).toBe('password_required');
    // Nor can it unlink a sign-in provider: the last way into a provider-only account stays.
    const unlink = await c.call('DELETE', `/api/auth/oidc/identities/${randomUUID()}`, {
      token: a.token,
      body: { password: 'anything-at-all' },
    });
    expect(unlink.body.error).toBe('password_required');
  });

  it('delete: refused while the only owner of an org with other members, naming the org', async () => {
    const { c, a } = await fresh('acct-sole');
    const { a: member } = await fresh('acct-sole-member');
    await verifyEmail(srv, member.email, member.password);
    await addExistingMember(srv, a.token, a.orgId, member, 'admin');
    const del = (body: Record<string, unknown>) => c.call('DELETE', '/api/me', { token: a.token, body });
    expect((await del({ password: a.password, confirm: 'someone-else@example.test' })).status).toBe(400);
    expect((await del({ password: 'not-the-password-1', confirm: a.email })).body.error).toBe(
      'invalid_credentials',
    );
    const refused = await del({ password: a.password, confirm: a.email });
    expect(refused.status).toBe(409);
    expect(refused.body.error).toBe('conflict');
    expect(String(refused.body.message)).toMatch(/make another member owner or delete the org first/);
    expect(refused.body.orgs).toEqual([{ orgId: a.orgId, name: 'acct-sole org' }]);
    expect((await c.get('/api/me', a.token)).status).toBe(200);
  });

  it('delete: erases the user, hard-deletes sole-member orgs, leaves org audit rows with the id only', async () => {
    const { c, a } = await fresh('acct-erase');
    const { c: kc, a: keeper } = await fresh('acct-erase-keeper');
    await verifyEmail(srv, a.email, a.password);
    await addExistingMember(srv, keeper.token, keeper.orgId, a, 'admin');
    // An invitation still pending in an org the leaver never joined holds the address too: erasure removes it.
    const { a: stranger } = await fresh('acct-erase-stranger');
    await invite(srv, stranger.token, stranger.orgId, a.email, 'viewer');
    const key = await api(srv.baseUrl, a.token).post<{ id: string; key: string }>(
      `/api/orgs/${keeper.orgId}/api-keys`,
      { name: 'made by the leaver' },
    );
    expect(key.status).toBe(201);
    const { secret } = await enableTotp(c, a);
    // A mail about the account still waiting in the outbox (due in an hour): erasure drops it, address and all.
    const pending = await srv.rampart.services.db.platform(async (q) => {
      const id = await enqueueMail(q, srv.rampart.services.ring, {
        to: a.email,
        userId: a.userId,
        template: {
          kind: 'password_reset',
          link: 'http://127.0.0.1/reset-password#token=pending',
          minutes: 30,
        },
      });
      await q.query(`UPDATE mail_outbox SET next_attempt_at = now() + interval '1 hour' WHERE id = $1`, [id]);
      return id;
    });
    const keeperBefore = (await kc.get(`/api/orgs/${keeper.orgId}/settings`, keeper.token)).body;

    const del = (body: Record<string, unknown>) => c.call('DELETE', '/api/me', { token: a.token, body });
    expect((await del({ password: a.password, confirm: a.email })).body.error).toBe('totp_required');
    const ok = await del({ password: a.password, totp: nextCode(secret), confirm: a.email.toUpperCase() });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(ok.body.deletedOrgIds).toEqual([a.orgId]);

    // Gone: no sign-in, no session, no org of its own; the key it created is revoked.
    expect((await c.get('/api/me', a.token)).status).toBe(401);
    const login = await c.post('/api/auth/login', { email: a.email, password: PASSWORD, totp: '000000' });
    expect(login.body.error).toBe('invalid_credentials');
    const fake = { headers: { authorization: `Bearer ${key.body.key}` } } as FastifyRequest;
    await expect(srv.rampart.services.auth.principal(fake)).rejects.toThrow();
    await expect.poll(() => subjectsTo(a.email)).toContain(SUBJECT.deleted);

    const db = srv.rampart.services.db;
    const { orgRows, tomb, removed, chain } = await db.owner(async (q) => ({
      orgRows: (await q.query('SELECT 1 FROM orgs WHERE id = $1', [a.orgId])).rowCount,
      tomb: (await q.query('SELECT 1 FROM org_tombstones WHERE id = $1', [a.orgId])).rowCount,
      removed: (
        await q.query<{ action: string; user_id: string; meta: string }>(
          `SELECT action, user_id, meta FROM audit_log WHERE org_id = $1 AND target = $2 ORDER BY seq`,
          [keeper.orgId, `user:${a.userId}`],
        )
      ).rows,
      chain: await verifyChain(q, null),
    }));
    expect(orgRows).toBe(0);
    expect(tomb).toBe(1);
    expect(removed.map((r) => r.action)).toEqual(['member.added', 'member.removed']);
    expect(JSON.parse(removed[1]?.meta ?? '{}')).toMatchObject({ reason: 'account_deleted', role: 'admin' });
    expect(chain.ok).toBe(true);
    const dropped = await db.platform((q) =>
      q.query<{ status: string; payload_sealed: string | null; user_id: string | null }>(
        'SELECT status, payload_sealed, user_id FROM mail_outbox WHERE id = $1',
        [pending],
      ),
    );
    expect(dropped.rows).toEqual([{ status: 'failed', payload_sealed: null, user_id: null }]);
    // The address is nowhere (audit logs, account events, outbox once delivered); the id only in audit rows
    // and as the creator of the revoked key.
    await expect.poll(() => tablesContaining(db, a.email)).toEqual([]);
    expect(await tablesContaining(db, a.userId)).toEqual(['api_keys', 'audit_log']);

    // The other org: intact, its chain verifies, the leaver no longer a member.
    expect((await kc.get(`/api/orgs/${keeper.orgId}/settings`, keeper.token)).body).toEqual(keeperBefore);
    const members = await kc.get<{ members: Array<{ userId: string }> }>(
      `/api/orgs/${keeper.orgId}/members`,
      keeper.token,
    );
    expect(members.body.members.map((m) => m.userId)).toEqual([keeper.userId]);
    const verify = await kc.get(`/api/orgs/${keeper.orgId}/audit/verify`, keeper.token);
    expect(verify.body.ok).toBe(true);
  });
});
