/**
 * Account events belong to the person (issue 19, finding 8): sign-ins, failed sign-ins, 2FA and CLI-device
 * events go to the user's own stream (`GET /api/me/events`) and the platform chain, never into the audit log of
 * an org they belong to; `member.added` does not say whether the address already had an account.
 */
import { type Account, api, PASSWORD, signup, totpCode, uniqueEmail } from '@rampart/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sweepAccountEvents } from '../src/identity/accounts/events.js';
import { ENGINES, startTestServer } from './helpers.js';

type Srv = Awaited<ReturnType<typeof startTestServer>>;
interface Entry {
  action: string;
  target: string | null;
  ip: string | null;
  userAgent: string | null;
  userId: string | null;
  meta: Record<string, unknown>;
}
interface Ev {
  seq: number;
  at: string;
  action: string;
  ip: string | null;
  userAgent: string | null;
  meta: Record<string, unknown>;
}
type Events = { events: Ev[]; nextCursor: string | null };

/** Where the user signs in from, and with what: none of it may reach another org's log. */
const U_IP = '203.0.113.77';
const U_AGENT = 'PrivateBrowser/9.9 (victim laptop)';
const from = { 'x-forwarded-for': U_IP, 'user-agent': U_AGENT };
const ACCOUNT_ACTIONS = /^auth\./;

describe.each(ENGINES)('account events stay with the account (%s)', (engine) => {
  let srv: Srv;
  let u: Account;
  let b: Account;
  let uToken: string;
  let bAudit: Entry[];

  const post = (path: string, body: unknown, token?: string) =>
    api(srv.baseUrl, token).request<Record<string, unknown>>('POST', path, body, from);

  beforeAll(async () => {
    srv = await startTestServer(engine, { RAMPART_TRUST_PROXY: '127.0.0.1' });
    u = await signup(srv.baseUrl, { orgName: 'U home' });
    b = await signup(srv.baseUrl, { orgName: 'Org B' });
    // Org B adds U (an existing account) and a brand-new address.
    expect(
      (
        await api(srv.baseUrl, b.token).post(`/api/orgs/${b.orgId}/members`, {
          email: u.email,
          role: 'member',
        })
      ).status,
    ).toBe(201);
    expect(
      (
        await api(srv.baseUrl, b.token).post(`/api/orgs/${b.orgId}/members`, {
          email: uniqueEmail('fresh'),
          role: 'viewer',
        })
      ).status,
    ).toBe(201);
    // U's account activity after joining B: a failed sign-in, a sign-in, 2FA on, a 2FA sign-in, a device
    // approval and a log-out.
    expect((await post('/api/auth/login', { email: u.email, password: 'wrong password 000' })).status).toBe(
      401,
    );
    const first = await post('/api/auth/login', { email: u.email, password: PASSWORD });
    expect(first.status).toBe(200);
    uToken = first.body.token as string;
    const enrol = await post('/api/auth/totp/enroll', { password: PASSWORD }, uToken);
    expect(enrol.status, enrol.text).toBe(200);
    const secret = enrol.body.secret as string;
    expect((await post('/api/auth/totp/confirm', { code: totpCode(secret) }, uToken)).status).toBe(200);
    const second = await post('/api/auth/login', {
      email: u.email,
      password: PASSWORD,
      totp: totpCode(secret, 1),
    });
    expect(second.status, second.text).toBe(200);
    uToken = second.body.token as string;
    const code = await api(srv.baseUrl).post<{ user_code: string }>('/api/auth/device/code', {
      client_id: 'rampart-cli',
    });
    expect((await post('/api/auth/device/approve', { userCode: code.body.user_code }, uToken)).status).toBe(
      200,
    );
    bAudit = (
      await api(srv.baseUrl, b.token).get<{ entries: Entry[] }>(`/api/orgs/${b.orgId}/audit?limit=500`)
    ).body.entries;
  });
  afterAll(() => srv.close());

  it("an org that adds a user sees none of the user's sign-ins, addresses or user agents", () => {
    expect(bAudit.length).toBeGreaterThan(0);
    const text = JSON.stringify(bAudit);
    expect(bAudit.filter((e) => ACCOUNT_ACTIONS.test(e.action))).toEqual([]);
    expect(bAudit.filter((e) => e.userId === u.userId)).toEqual([]);
    expect(text).not.toContain(U_IP);
    expect(text).not.toContain(U_AGENT);
  });

  it('member.invited does not say whether the address already had an account', () => {
    const added = bAudit.filter((e) => e.action === 'member.invited');
    expect(added).toHaveLength(2);
    for (const e of added) expect(Object.keys(e.meta)).toEqual(['role']);
  });

  it("the user's own org gets no account events either (org audits record org actions only)", async () => {
    const own = (
      await api(srv.baseUrl, uToken).get<{ entries: Entry[] }>(`/api/orgs/${u.orgId}/audit?limit=500`)
    ).body.entries;
    expect(own.filter((e) => ACCOUNT_ACTIONS.test(e.action))).toEqual([]);
    expect(JSON.stringify(own)).not.toContain(U_AGENT);
  });

  it('the user sees their own events, newest first, with where they came from', async () => {
    const r = await api(srv.baseUrl, uToken).get<Events>('/api/me/events?limit=200');
    expect(r.status).toBe(200);
    const actions = r.body.events.map((e) => e.action);
    expect(actions).toEqual([
      'auth.device_approved',
      'auth.login',
      'auth.totp_enabled',
      'auth.totp_enrollment_started',
      'auth.login',
      'auth.login_failed',
      'user.signed_up',
    ]);
    const login = r.body.events[1];
    expect(login).toMatchObject({ ip: U_IP, userAgent: U_AGENT, meta: { amr: ['pwd', 'otp'] } });
    expect(r.body.nextCursor).toBeNull();
  });

  it('pages with a cursor and nothing is lost or repeated', async () => {
    const a = api(srv.baseUrl, uToken);
    const seen: number[] = [];
    let cursor: string | null = '';
    while (cursor !== null) {
      const page: Events = (await a.get<Events>(`/api/me/events?limit=2${cursor ? `&cursor=${cursor}` : ''}`))
        .body;
      seen.push(...page.events.map((e) => e.seq));
      cursor = page.nextCursor;
    }
    expect(seen).toHaveLength(7);
    expect([...seen].sort((x, y) => y - x)).toEqual(seen);
    expect(new Set(seen).size).toBe(7);
    expect((await a.get('/api/me/events?cursor=abc')).status).toBe(400);
    expect((await a.get('/api/me/events?limit=0')).status).toBe(400);
  });

  it("another user (even an admin of an org the user is in) cannot read the user's events", async () => {
    const r = await api(srv.baseUrl, b.token).get<Events>('/api/me/events?limit=200');
    expect(r.status).toBe(200);
    expect(JSON.stringify(r.body)).not.toContain(U_IP);
    expect(r.body.events.every((e) => e.action === 'user.signed_up')).toBe(true);
    expect((await api(srv.baseUrl).get('/api/me/events')).status).toBe(401);
    // Row-level security too: in B's user context the table shows only B's rows.
    const rows = await srv.rampart.services.db.tx({ orgId: null, userId: b.userId }, async (q) =>
      (await q.query<{ user_id: string }>('SELECT user_id FROM account_events')).rows.map((x) => x.user_id),
    );
    expect(new Set(rows)).toEqual(new Set([b.userId]));
  });

  it('the platform chain keeps every account event', async () => {
    const { rows } = await srv.rampart.services.db.platform((q) =>
      q.query<{ action: string; ip: string }>(
        `SELECT action, ip FROM audit_log WHERE org_id IS NULL AND target = $1 ORDER BY seq`,
        [`user:${u.userId}`],
      ),
    );
    const actions = rows.map((r) => r.action);
    for (const a of ['auth.login_failed', 'auth.login', 'auth.totp_enabled', 'user.signed_up'])
      expect(actions).toContain(a);
  });

  it('events past retention are swept, and deleting the user deletes their stream', async () => {
    const db = srv.rampart.services.db;
    const count = async (userId: string) =>
      Number(
        (
          await db.platform((q) =>
            q.query<{ n: string }>('SELECT count(*)::text AS n FROM account_events WHERE user_id = $1', [
              userId,
            ]),
          )
        ).rows[0]?.n,
      );
    const gone = await signup(srv.baseUrl);
    expect(await count(gone.userId)).toBe(1);
    await db.owner((q) => q.query('DELETE FROM users WHERE id = $1', [gone.userId]));
    expect(await count(gone.userId)).toBe(0);
    expect(await count(u.userId)).toBe(7);
    expect(await sweepAccountEvents(db, 30, new Date(Date.now() + 29 * 86_400_000))).toBe(0);
    expect(await sweepAccountEvents(db, 30, new Date(Date.now() + 31 * 86_400_000))).toBeGreaterThan(7);
    expect(await count(u.userId)).toBe(0);
  });
});
