/**
 * Accounts through the real HTTP stack (issue 5, "Accounts and sessions"; DESIGN invariant 4): signup, the
 * password policy, login without account enumeration (same status, same body, about the same time), invited
 * accounts without a password, forgot/reset password (single-use, short-lived, stored hashed, logs out every
 * session). Runs on every engine.
 */
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type Client,
  client,
  mailsTo,
  PASSWORD,
  type ApiResponse as Res,
  signupAccount,
  tokenFromMail,
  uniqueEmail,
  waitForMail,
} from '@rampart/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, startTestServer } from './helpers.js';

type Server = Awaited<ReturnType<typeof startTestServer>>;
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const withoutRequestId = (body: Record<string, unknown>) => {
  const { requestId: _, ...rest } = body;
  return rest;
};
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
};

describe.each(ENGINES)('accounts (%s)', (engine) => {
  let srv: Server;
  let c: Client;
  beforeAll(async () => {
    srv = await startTestServer(engine, { RAMPART_TRUST_PROXY: '127.0.0.1' });
    c = client(srv.baseUrl);
  });
  afterAll(() => srv?.close());

  it('signup answers 201 {userId, orgId, token}, and the token is a working session owning the new org', async () => {
    const email = uniqueEmail('signup');
    const r = await c.post('/api/auth/signup', { email, password: PASSWORD, orgName: 'Acme' });
    expect(r.status).toBe(201);
    expect(Object.keys(r.body).sort()).toEqual(['orgId', 'token', 'userId']);
    const me = await c.get('/api/me', r.body.token as string);
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({
      userId: r.body.userId,
      email,
      totpEnabled: false,
      orgs: [{ orgId: r.body.orgId, name: 'Acme', role: 'owner' }],
    });
  });

  it('a duplicate email (in any letter case) is 409 conflict, and the first password still works', async () => {
    const a = await signupAccount(c, 'dup');
    const again = await c.post('/api/auth/signup', {
      email: a.email.toUpperCase(),
      password: 'Another-Strong-Pass-77',
      orgName: 'Takeover',
    });
    expect(again.status).toBe(409);
    expect(again.body.error).toBe('conflict');
    expect((await c.post('/api/auth/login', { email: a.email, password: PASSWORD })).status).toBe(200);
    const bad = await c.post('/api/auth/login', { email: a.email, password: 'Another-Strong-Pass-77' });
    expect(bad.status).toBe(401);
  });

  const local = `marigold${Math.random().toString(36).slice(2, 8)}`;
  it.each([
    ['too short', 'Ab1!xyz9', /at least 10/],
    ['on the common-password list (any case)', 'QwertyUiop', /too common/],
    ['73 ASCII bytes', `${'Zq8!'.repeat(18)}x`, /72 bytes/],
    ['40 two-byte characters (80 bytes, only 40 characters)', 'é'.repeat(40), /72 bytes/],
    ['containing the email local part', `My-${local}-Secret-99`, /email/],
    ['far over any limit (schema guard)', 'k'.repeat(1025), /.+/],
  ])('password policy: %s -> 400 validation_failed, the password never echoed', async (_n, password, msg) => {
    const r = await c.post('/api/auth/signup', { email: `${local}@example.test`, password, orgName: 'P' });
    expect(r.status).toBe(400);
    expect(r.body.error).toBe('validation_failed');
    expect(r.body.message).toMatch(msg);
    expect(JSON.stringify(r.body)).not.toContain(password);
    expect(JSON.stringify(r.body)).not.toContain(password.slice(0, 10));
    expect(srv.logs.join('\n')).not.toContain(password);
  });

  it('none of the refused passwords created the account', async () => {
    const r = await c.post('/api/auth/login', { email: `${local}@example.test`, password: PASSWORD });
    expect(r.status).toBe(401);
  });

  it('login with the right password answers 200 {token, expiresAt} fifteen minutes out, and no cookie', async () => {
    const a = await signupAccount(c, 'login');
    const r = await c.post('/api/auth/login', { email: a.email.toUpperCase(), password: PASSWORD });
    expect(r.status).toBe(200);
    expect(Object.keys(r.body).sort()).toEqual(['expiresAt', 'token']);
    expect(r.headers.get('set-cookie')).toBeNull();
    const minutes = (Date.parse(r.body.expiresAt as string) - Date.now()) / 60_000;
    expect(minutes).toBeGreaterThan(14.9);
    expect(minutes).toBeLessThanOrEqual(15);
    const claims = JSON.parse(Buffer.from(String(r.body.token).split('.')[1] ?? '', 'base64url').toString());
    expect(claims.exp - claims.iat).toBe(15 * 60);
    expect((await c.get('/api/me', r.body.token as string)).status).toBe(200);
  });

  it('account enumeration by login: wrong password and unknown email get the same status and body', async () => {
    const a = await signupAccount(c, 'enum');
    const wrong = await c.post('/api/auth/login', { email: a.email, password: 'Wrong-Password-123' });
    const unknown = await c.post('/api/auth/login', {
      email: uniqueEmail('nobody'),
      password: 'Wrong-Password-123',
    });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(wrong.status);
    expect(wrong.body.error).toBe('invalid_credentials');
    expect(withoutRequestId(unknown.body)).toEqual(withoutRequestId(wrong.body));
    expect(unknown.headers.get('content-type')).toBe(wrong.headers.get('content-type'));
    // An over-long password is "just a wrong password" too, not a 400 that only known accounts reach.
    const long = await c.post('/api/auth/login', { email: a.email, password: 'x'.repeat(200) });
    expect(long.status).toBe(401);
    expect(withoutRequestId(long.body)).toEqual(withoutRequestId(wrong.body));
  });

  it('an invited account (no password yet) cannot be logged into with any password', async () => {
    const owner = await signupAccount(c, 'inviter');
    const invitee = uniqueEmail('invitee');
    const add = await c.post(
      `/api/orgs/${owner.orgId}/members`,
      { email: invitee, role: 'member' },
      owner.token,
    );
    expect(add.status).toBe(201);
    const unknown = await c.post('/api/auth/login', { email: uniqueEmail('nobody'), password: PASSWORD });
    for (const password of [PASSWORD, 'a', 'null', '*', 'x'.repeat(72)]) {
      const r = await c.post('/api/auth/login', { email: invitee, password });
      expect(r.status).toBe(401);
      expect(withoutRequestId(r.body)).toEqual(withoutRequestId(unknown.body));
    }
  });

  it('forgot-password answers 202 whatever the email; only the known address gets mail, exactly one', async () => {
    const a = await signupAccount(c, 'forgot');
    const nobody = uniqueEmail('forgot-nobody');
    const u = await c.post('/api/auth/forgot-password', { email: nobody });
    const k = await c.post('/api/auth/forgot-password', { email: a.email });
    expect(u.status).toBe(202);
    expect(k.status).toBe(202);
    expect(withoutRequestId(u.body)).toEqual(withoutRequestId(k.body));
    const [mail] = await waitForMail(srv.mailer, a.email);
    expect(mail?.text).toMatch(/#token=[A-Za-z0-9_-]{40,}/);
    await sleep(300); // any late second message or mail to the unknown address would have arrived by now
    expect(mailsTo(srv.mailer, a.email)).toHaveLength(1);
    expect(srv.mailer.sent.filter((m) => m.to === nobody)).toHaveLength(0);
  });

  async function resetToken(a: { email: string }, count = 1): Promise<string> {
    expect((await c.post('/api/auth/forgot-password', { email: a.email })).status).toBe(202);
    const mails = await waitForMail(srv.mailer, a.email, count);
    return tokenFromMail(mails[count - 1]?.text ?? '');
  }

  it('reset token replay: it sets the password once; a second use is 401 invalid_credentials', async () => {
    const a = await signupAccount(c, 'reset');
    const token = await resetToken(a);
    // A refused new password does not burn the token (the whole reset is one transaction).
    const weak = await c.post('/api/auth/reset-password', { token, password: 'short' });
    expect(weak.status).toBe(400);
    const next = 'Brand-New-Password-2024';
    const ok = await c.post('/api/auth/reset-password', { token, password: next });
    expect(ok.status).toBe(200);
    expect((await c.post('/api/auth/login', { email: a.email, password: next })).status).toBe(200);
    expect((await c.post('/api/auth/login', { email: a.email, password: PASSWORD })).status).toBe(401);
    const replay = await c.post('/api/auth/reset-password', { token, password: 'Attacker-Chosen-Pass-1' });
    expect(replay.status).toBe(401);
    expect(replay.body.error).toBe('invalid_credentials');
    expect((await c.post('/api/auth/login', { email: a.email, password: next })).status).toBe(200);
  });

  it('an expired reset token is refused', async () => {
    const a = await signupAccount(c, 'expired');
    const token = await resetToken(a);
    await srv.rampart.services.db.owner((q) =>
      q.query(`UPDATE password_resets SET expires_at = now() - interval '1 second' WHERE token_hash = $1`, [
        sha256(token),
      ]),
    );
    const r = await c.post('/api/auth/reset-password', { token, password: 'Brand-New-Password-2024' });
    expect(r.status).toBe(401);
    expect(r.body.error).toBe('invalid_credentials');
    expect((await c.post('/api/auth/login', { email: a.email, password: PASSWORD })).status).toBe(200);
  });

  it('a reset logs out every existing session (token generation bumped)', async () => {
    const a = await signupAccount(c, 'bump');
    const login = await c.post<{ token: string }>('/api/auth/login', { email: a.email, password: PASSWORD });
    const sessions = [a.token, login.body.token];
    for (const t of sessions) expect((await c.get('/api/me', t)).status).toBe(200);
    const token = await resetToken(a);
    const next = 'Brand-New-Password-2025';
    expect((await c.post('/api/auth/reset-password', { token, password: next })).status).toBe(200);
    for (const t of sessions) {
      const r = await c.get('/api/me', t);
      expect(r.status).toBe(401);
      expect(r.body.error).toBe('unauthorized');
    }
    const fresh = await c.post<{ token: string }>('/api/auth/login', { email: a.email, password: next });
    expect((await c.get('/api/me', fresh.body.token)).status).toBe(200);
  });

  it('the database holds only the SHA-256 of a reset token', async () => {
    const a = await signupAccount(c, 'hashed');
    const token = await resetToken(a);
    const { rows } = await srv.rampart.services.db.owner((q) =>
      q.query<Record<string, unknown>>('SELECT * FROM password_resets WHERE user_id = $1', [a.userId]),
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]?.token_hash).toBe(sha256(token));
    expect(JSON.stringify(rows)).not.toContain(token);
    expect(srv.logs.join('\n')).not.toContain(token);
  });
});

/**
 * Timing: the suite's usual bcrypt cost 4 makes a compare ~1 ms, lost in HTTP and database noise, so this
 * server runs at cost 10 (~60 ms), where the compare dominates as cost 12 does in production. An unknown
 * email that skipped the bcrypt compare would answer in a fraction of the time.
 */
describe.each(ENGINES)('login timing oracle (%s)', (engine) => {
  let srv: Server;
  beforeAll(async () => {
    srv = await startTestServer(engine, { RAMPART_TRUST_PROXY: '127.0.0.1', RAMPART_TEST_BCRYPT_COST: '10' });
  });
  afterAll(() => srv?.close());

  it('unknown emails pay a bcrypt compare too: median time within a factor of three of a wrong password', async () => {
    const c = client(srv.baseUrl);
    const SAMPLES = 5;
    // One account per sample keeps each account under the throttle's free failures.
    const accounts = [];
    for (let i = 0; i <= SAMPLES; i++) accounts.push(await signupAccount(c, `timing${i}`));
    const wrong: Res[] = [];
    const unknown: Res[] = [];
    for (const a of accounts) {
      unknown.push(
        await c.post('/api/auth/login', { email: uniqueEmail('ghost'), password: 'Wrong-Pass-987' }),
      );
      wrong.push(await c.post('/api/auth/login', { email: a.email, password: 'Wrong-Pass-987' }));
    }
    for (const r of [...wrong, ...unknown]) expect(r.status).toBe(401);
    // The first of each is a warm-up (the unknown path lazily builds its dummy hash once per cost).
    const w = median(wrong.slice(1).map((r) => r.ms));
    const u = median(unknown.slice(1).map((r) => r.ms));
    const detail = `wrong-password median ${w.toFixed(1)} ms, unknown-email median ${u.toFixed(1)} ms`;
    expect(u, detail).toBeGreaterThanOrEqual(0.5 * w);
    expect(u, detail).toBeLessThanOrEqual(3 * w);
  });
});
