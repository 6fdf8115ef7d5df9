/**
 * The operator console's server side (issue 27 part 2): org views (each audited in both chains, never a secret),
 * support actions with typed reasons, and suspension enforced where credentials are resolved: API keys on the
 * gateway and org routes, runtime tokens, the public widget, member writes, the job runner and run-now.
 */
import { randomUUID } from 'node:crypto';
import {
  type Account,
  addMemberWithRole,
  api,
  invite,
  lastResetToken,
  login,
  type Member,
  PASSWORD,
  signup,
  startTarget,
  type Target,
  totpCode,
  uniqueEmail,
} from '@rampart/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, startTestServer } from './helpers.js';
import { startModelStub, useStubProvider, visitor } from './widget-support.js';

type Srv = Awaited<ReturnType<typeof startTestServer>>;
type Err = { error: string; message: string };
interface AuditRow {
  org_id: string | null;
  user_id: string | null;
  action: string;
  target: string | null;
  meta: Record<string, unknown>;
}

const SHOP = 'https://shop.example.com';
const REASON = 'Ticket 4711: chargeback fraud under review';
const JOB_SECRET = 'job-header-secret-value-9f8e7d';
const URL_SECRET = 'querytoken-abc123secret';
const PROMPT = 'You are the secret-prompt helper of the Shop.';

describe.each(ENGINES)('operator console: views, support actions, suspension (%s)', (engine) => {
  let srv: Srv;
  let target: Target;
  let stub: Awaited<ReturnType<typeof startModelStub>>;
  let owner: Account;
  let other: Account;
  let member: Member;
  let plain: Account;
  let op: Account;
  let opToken: string;
  let apiKey: { id: string; key: string };
  let runtime: { id: string; token: string };
  let widgetId: string;
  let jobId: string;
  let invitationId: string;
  let pendingToken: string;
  let otherKeyId: string;
  const o = () => `/api/orgs/${owner.orgId}`;
  const ad = () => `/api/admin/orgs/${owner.orgId}`;
  const asOp = () => api(srv.baseUrl, opToken);
  const asOwner = () => api(srv.baseUrl, owner.token);
  const rows = (orgId: string | null, action: string) =>
    srv.rampart.services.db.owner(async (q) => {
      const { rows } = await q.query<AuditRow>(
        `SELECT org_id, user_id, action, target, meta::jsonb AS meta FROM audit_log
          WHERE org_id IS NOT DISTINCT FROM $1 AND action = $2 ORDER BY seq`,
        [orgId, action],
      );
      return rows;
    });

  beforeAll(async () => {
    target = await startTarget();
    stub = await startModelStub();
    srv = await startTestServer(engine, {
      RAMPART_OUTBOUND_ALLOW: '127.0.0.1',
      RAMPART_TRUST_PROXY: '127.0.0.1',
    });
    owner = await signup(srv.baseUrl, { orgName: 'Suspect Org' });
    other = await signup(srv.baseUrl, { orgName: 'Bystander Org' });
    plain = await signup(srv.baseUrl);
    await useStubProvider(srv.baseUrl, owner, stub.origin, ['chat-model']);
    const k = await asOwner().post<{ id: string; key: string }>(`${o()}/api-keys`, {
      name: 'prod',
      scopes: ['gateway', 'audit.read'],
    });
    expect(k.status, k.text).toBe(201);
    apiKey = k.body;
    const t = await asOwner().post<{ id: string; token: string }>(`${o()}/runtime-tokens`, { name: 'rt' });
    expect(t.status, t.text).toBe(201);
    runtime = t.body;
    const ok = await api(srv.baseUrl, other.token).post<{ id: string }>(`/api/orgs/${other.orgId}/api-keys`, {
      name: 'theirs',
    });
    expect(ok.status, ok.text).toBe(201);
    otherKeyId = ok.body.id;
    const w = await asOwner().post<{ id: string }>(`${o()}/widgets`, {
      name: 'help',
      allowedOrigins: [SHOP],
      systemPrompt: PROMPT,
      model: 'chat-model',
    });
    expect(w.status, w.text).toBe(201);
    widgetId = w.body.id;
    const j = await asOwner().post<{ id: string }>(`${o()}/jobs`, {
      name: 'nightly',
      schedule: '* * * * *',
      method: 'POST',
      url: `${target.origin}/ok?token=${URL_SECRET}`,
      headers: { 'X-Api-Token': JOB_SECRET },
    });
    expect(j.status, j.text).toBe(201);
    jobId = j.body.id;
    member = await addMemberWithRole(srv, owner.token, owner.orgId, 'member');
    pendingToken = await invite(srv, owner.token, owner.orgId, uniqueEmail('pending'), 'viewer');
    const inv = await asOwner().get<{ invitations: Array<{ invitationId: string }> }>(`${o()}/invitations`);
    invitationId = inv.body.invitations[0]?.invitationId ?? '';

    op = await signup(srv.baseUrl, { email: uniqueEmail('operator') });
    await srv.rampart.services.db.owner((q) =>
      q.query('UPDATE users SET is_operator = true WHERE id = $1', [op.userId]),
    );
  });
  afterAll(async () => {
    await srv?.close();
    await target?.close();
    await stub?.close();
  });

  it('non-operators and operators without a TOTP sign-in get 403 on every view and action', async () => {
    const paths: Array<[string, string]> = [
      ['GET', '/api/admin/orgs'],
      ['GET', ad()],
      ['GET', `${ad()}/credentials`],
      ['GET', '/api/admin/audit'],
      ['POST', '/api/admin/audit/verify'],
      ['POST', `${ad()}/suspend`],
      ['POST', `/api/admin/users/${member.userId}/force-password-reset`],
    ];
    for (const token of [owner.token, plain.token, op.token]) {
      for (const [method, path] of paths) {
        const r = await api(srv.baseUrl, token).request<Err>(
          method,
          path,
          method === 'POST' ? { reason: REASON } : undefined,
        );
        expect(r.status, `${method} ${path}`).toBe(403);
        expect(r.body.error).toBe('forbidden');
      }
    }
    expect(await rows(owner.orgId, 'operator.org_suspended')).toEqual([]);
    // Now the operator enrols TOTP and signs in with it.
    const s = api(srv.baseUrl, op.token);
    const enroll = await s.post<{ secret: string }>('/api/auth/totp/enroll', { password: op.password });
    expect(enroll.status, enroll.text).toBe(200);
    const confirm = await s.post('/api/auth/totp/confirm', { code: totpCode(enroll.body.secret) });
    expect(confirm.status, confirm.text).toBe(200);
    opToken = await login(srv.baseUrl, op.email, PASSWORD, { totp: totpCode(enroll.body.secret, 1) });
  });

  it('lists orgs with plan, usage, members and last activity; searches by name, id and member e-mail', async () => {
    const all = await asOp().get<{ orgs: Array<Record<string, unknown>>; total: number }>('/api/admin/orgs');
    expect(all.status, all.text).toBe(200);
    expect(all.body.total).toBeGreaterThanOrEqual(4);
    expect(all.body.orgs.find((x) => x.orgId === owner.orgId)).toMatchObject({
      name: 'Suspect Org',
      members: 2,
      plan: 'free',
      suspended: false,
      suspendedAt: null,
      usage: { jobs: 1, widgets: 1, connections: 0, apiKeys: 1 },
      lastActivityAt: expect.any(String),
    });
    for (const q of ['suspect', owner.orgId, member.email]) {
      const r = await asOp().get<{ orgs: Array<{ orgId: string }>; total: number }>(
        `/api/admin/orgs?q=${encodeURIComponent(q)}`,
      );
      expect(r.status, q).toBe(200);
      expect(
        r.body.orgs.map((x) => x.orgId),
        q,
      ).toEqual([owner.orgId]);
      expect(r.body.total).toBe(1);
    }
    const none = await asOp().get<{ orgs: unknown[]; total: number }>('/api/admin/orgs?q=%25');
    expect(none.body).toEqual({ orgs: [], total: 0 });
    const page = await asOp().get<{ orgs: unknown[] }>('/api/admin/orgs?limit=1&offset=1');
    expect(page.body.orgs).toHaveLength(1);
    expect((await asOp().get<Err>('/api/admin/orgs?limit=0')).body.error).toBe('validation_failed');
    expect((await rows(null, 'operator.orgs_listed')).at(-1)?.user_id).toBe(op.userId);
  });

  it("each view of one org answers, never with a secret, and is audited in the platform and the org's chain", async () => {
    const views = [
      '',
      '/jobs',
      '/runs',
      '/widgets',
      '/connections',
      '/credentials',
      '/invitations',
      '/audit',
    ];
    for (const v of views) {
      const r = await asOp().get(`${ad()}${v}`);
      expect(r.status, `${v} ${r.text}`).toBe(200);
      for (const secret of [apiKey.key, runtime.token, JOB_SECRET, URL_SECRET, PROMPT])
        expect(r.text, v).not.toContain(secret);
    }
    const summary = await asOp().get<{ org: Record<string, unknown> }>(ad());
    expect(summary.body.org).toMatchObject({ orgId: owner.orgId, suspendedReason: null, members: 2 });
    const jobs = await asOp().get<{ jobs: Array<{ id: string; target: string }> }>(`${ad()}/jobs`);
    expect(jobs.body.jobs).toEqual([expect.objectContaining({ id: jobId, target: target.origin })]);
    const creds = await asOp().get<{ credentials: Array<{ kind: string; id: string; prefix: string }> }>(
      `${ad()}/credentials`,
    );
    expect(creds.body.credentials.map((c) => [c.kind, c.id]).sort()).toEqual(
      [
        ['api_key', apiKey.id],
        ['runtime_token', runtime.id],
      ].sort(),
    );
    const invs = await asOp().get<{ invitations: Array<{ invitationId: string; status: string }> }>(
      `${ad()}/invitations`,
    );
    expect(invs.body.invitations).toContainEqual(
      expect.objectContaining({ invitationId, status: 'pending' }),
    );
    const audit = await asOp().get<{ entries: Array<{ seq: number }>; nextCursor: string | null }>(
      `${ad()}/audit?limit=2`,
    );
    expect(audit.body.entries).toHaveLength(2);
    expect(audit.body.entries[0]?.seq).toBeGreaterThan(audit.body.entries[1]?.seq ?? 0);
    const older = await asOp().get<{ entries: Array<{ seq: number }> }>(
      `${ad()}/audit?limit=2&before=${audit.body.nextCursor}`,
    );
    expect(older.body.entries[0]?.seq).toBeLessThan(audit.body.entries[1]?.seq ?? 0);
    const seen = (await rows(owner.orgId, 'operator.org_accessed')).map((r) => r.meta.what);
    expect(seen).toEqual(
      expect.arrayContaining([
        'summary',
        'jobs',
        'runs',
        'widgets',
        'connections',
        'credentials',
        'invitations',
        'audit',
      ]),
    );
    expect(await rows(null, 'operator.org_accessed')).toContainEqual(
      expect.objectContaining({ user_id: op.userId, target: `org:${owner.orgId}` }),
    );
    // Unknown org: 404 and nothing recorded; a malformed id: 400.
    for (const v of views) {
      const r = await asOp().get<Err>(`/api/admin/orgs/${randomUUID()}${v}`);
      expect(r.status, v).toBe(404);
      expect(r.body.error).toBe('not_found');
    }
    expect((await asOp().get<Err>('/api/admin/orgs/nope/jobs')).body.error).toBe('validation_failed');
  });

  it('every support action needs a typed reason of 10 to 500 characters', async () => {
    const actions = [
      `${ad()}/suspend`,
      `${ad()}/resume`,
      `${ad()}/credentials/${apiKey.id}/revoke`,
      `${ad()}/invitations/${invitationId}/resend`,
      `/api/admin/users/${member.userId}/force-password-reset`,
    ];
    for (const path of actions) {
      for (const body of [
        {},
        { reason: 'too short' },
        { reason: '          padded    ' },
        { reason: 'x'.repeat(501) },
      ]) {
        const r = await asOp().post<Err>(path, body);
        expect(r.status, `${path} ${JSON.stringify(body).slice(0, 40)}`).toBe(400);
        expect(r.body.error).toBe('validation_failed');
      }
    }
    // Nothing happened: the key still works.
    expect((await api(srv.baseUrl, apiKey.key).get('/v1/models')).status).toBe(200);
  });

  describe('suspension', () => {
    let visitorToken: string;
    it('suspends: audited with the reason in both chains; a second suspend is 409', async () => {
      const session = await visitor(srv.baseUrl, widgetId, SHOP).session();
      expect(session.status, session.text).toBe(200);
      visitorToken = session.body.visitorToken;
      const r = await asOp().post<{ orgId: string; suspended: boolean; suspendedAt: string }>(
        `${ad()}/suspend`,
        { reason: `  ${REASON}  ` },
      );
      expect(r.status, r.text).toBe(200);
      expect(r.body).toEqual({ orgId: owner.orgId, suspended: true, suspendedAt: expect.any(String) });
      for (const chain of [null, owner.orgId]) {
        expect(await rows(chain, 'operator.org_suspended')).toEqual([
          expect.objectContaining({
            user_id: op.userId,
            target: `org:${owner.orgId}`,
            meta: { reason: REASON },
          }),
        ]);
      }
      const again = await asOp().post<Err>(`${ad()}/suspend`, { reason: REASON });
      expect(again.status).toBe(409);
      expect(
        (await asOp().post<Err>(`/api/admin/orgs/${randomUUID()}/suspend`, { reason: REASON })).status,
      ).toBe(404);
      const summary = await asOp().get<{ org: Record<string, unknown> }>(ad());
      expect(summary.body.org).toMatchObject({ suspended: true, suspendedReason: REASON });
    });

    it("refuses the org's API key on the gateway and org routes, and its runtime token: 403 org_suspended", async () => {
      const key = api(srv.baseUrl, apiKey.key);
      for (const r of [
        await key.get<Err>('/v1/models'),
        await key.post<Err>('/v1/chat/completions', {
          model: 'chat-model',
          messages: [{ role: 'user', content: 'hi' }],
        }),
        await key.get<Err>(`${o()}/audit`),
        await api(srv.baseUrl, runtime.token).get<Err>('/api/runtime/whoami'),
      ]) {
        expect(r.status, r.text).toBe(403);
        expect(r.body).toMatchObject({
          error: 'org_suspended',
          message: 'This organization is suspended; contact support',
        });
      }
      expect(stub.calls).toHaveLength(0);
      // Another org's key is untouched.
      expect((await api(srv.baseUrl, other.token).get(`/api/orgs/${other.orgId}/api-keys`)).status).toBe(200);
    });

    it('refuses the public widget (with CORS headers so the widget can say so); the visitor may still delete', async () => {
      const v = visitor(srv.baseUrl, widgetId, SHOP);
      const s = await v.session();
      expect(s.status, s.text).toBe(403);
      expect((s.body as unknown as Err).error).toBe('org_suspended');
      expect(s.headers.get('access-control-allow-origin')).toBe(SHOP);
      const m = await v.message(visitorToken, 'hello?');
      expect(m.status).toBe(403);
      expect(m.body.error).toBe('org_suspended');
      expect(stub.calls).toHaveLength(0);
      const del = await api(srv.baseUrl, visitorToken).request<{ ok: boolean }>(
        'DELETE',
        `/widget/${widgetId}/conversation`,
        undefined,
        { origin: SHOP, 'x-forwarded-for': '198.51.100.7' },
      );
      expect(del.status, del.text).toBe(200);
      // Another site still gets origin_not_allowed first.
      const elsewhere = await visitor(srv.baseUrl, widgetId, 'https://evil.example').session();
      expect((elsewhere.body as unknown as Err).error).toBe('origin_not_allowed');
    });

    it('members still sign in and read the org; every write answers org_suspended', async () => {
      const token = await login(srv.baseUrl, member.email, PASSWORD);
      const m = api(srv.baseUrl, token);
      const org = await m.get<{ suspended: boolean; suspendedAt: string | null }>(o());
      expect(org.status, org.text).toBe(200);
      expect(org.body.suspended).toBe(true);
      expect((await m.get(`${o()}/jobs`)).status).toBe(200);
      for (const r of [
        await asOwner().post<Err>(`${o()}/api-keys`, { name: 'during' }),
        await asOwner().patch<Err>(`${o()}/settings`, { retentionDays: 30 }),
        await asOwner().post<Err>(`${o()}/jobs/${jobId}/run`),
        await m.post<Err>(`${o()}/jobs/${jobId}/run`),
      ]) {
        expect(r.status, r.text).toBe(403);
        expect(r.body.error).toBe('org_suspended');
      }
      // Joining is a write too: the invitation stays open for after the resume.
      const join = await api(srv.baseUrl).post<Err>('/api/auth/invitations/accept', {
        token: pendingToken,
        password: PASSWORD,
      });
      expect(join.status, join.text).toBe(403);
      expect(join.body.error).toBe('org_suspended');
      // A non-member still learns nothing: 404.
      expect((await api(srv.baseUrl, plain.token).get<Err>(o())).status).toBe(404);
    });

    it("the runner does not run the org's due job, nor a manual run queued before the suspension", async () => {
      await srv.rampart.services.db.org(owner.orgId, (q) =>
        q.query(
          `INSERT INTO job_runs (id, org_id, job_id, trigger, scheduled_for, status)
           VALUES ($1, $2, $3, 'manual', now(), 'queued')`,
          [randomUUID(), owner.orgId, jobId],
        ),
      );
      const before = target.on('/ok').length;
      const ran = await srv.rampart.services.jobRunner.tick(new Date(Date.now() + 5 * 60_000));
      expect(ran).toBe(0);
      expect(target.on('/ok').length).toBe(before);
    });

    it('resumes: audited with the reason; keys, tokens, the widget, writes and jobs work again', async () => {
      const r = await asOp().post(`${ad()}/resume`, { reason: 'Ticket 4711 closed: cleared' });
      expect(r.status, r.text).toBe(200);
      expect(r.body).toEqual({ orgId: owner.orgId, suspended: false });
      for (const chain of [null, owner.orgId])
        expect((await rows(chain, 'operator.org_resumed')).map((x) => x.meta)).toEqual([
          { reason: 'Ticket 4711 closed: cleared' },
        ]);
      expect((await asOp().post<Err>(`${ad()}/resume`, { reason: REASON })).status).toBe(409);
      expect((await api(srv.baseUrl, apiKey.key).get('/v1/models')).status).toBe(200);
      expect((await api(srv.baseUrl, apiKey.key).get(`${o()}/audit`)).status).toBe(200);
      expect((await api(srv.baseUrl, runtime.token).get('/api/runtime/whoami')).status).toBe(200);
      expect((await visitor(srv.baseUrl, widgetId, SHOP).session()).status).toBe(200);
      expect((await asOwner().patch(`${o()}/settings`, { retentionDays: 90 })).status).toBe(200);
      const before = target.on('/ok').length;
      const ran = await srv.rampart.services.jobRunner.tick(new Date(Date.now() + 5 * 60_000));
      expect(ran).toBe(2); // the due slot and the queued manual run
      expect(target.on('/ok').length).toBe(before + 2);
    });
  });

  it("revokes a credential: every node refuses it, both chains hold the reason, another org's id is 404", async () => {
    const foreign = await asOp().post<Err>(`${ad()}/credentials/${otherKeyId}/revoke`, { reason: REASON });
    expect(foreign.status).toBe(404);
    const r = await asOp().post(`${ad()}/credentials/${apiKey.id}/revoke`, { reason: REASON });
    expect(r.status, r.text).toBe(200);
    expect(r.body).toEqual({ revoked: true });
    expect((await api(srv.baseUrl, apiKey.key).get<Err>('/v1/models')).status).toBe(401);
    expect(await rows(owner.orgId, 'api_key.revoked')).toEqual([
      expect.objectContaining({ user_id: op.userId, meta: { reason: REASON, via: 'operator' } }),
    ]);
    expect(await rows(null, 'operator.credential_revoked')).toEqual([
      expect.objectContaining({
        target: `api_key:${apiKey.id}`,
        meta: { org: owner.orgId, kind: 'api_key', reason: REASON },
      }),
    ]);
    const again = await asOp().post<Err>(`${ad()}/credentials/${apiKey.id}/revoke`, { reason: REASON });
    expect(again.status).toBe(404);
    const rt = await asOp().post(`${ad()}/credentials/${runtime.id}/revoke`, { reason: REASON });
    expect(rt.status, rt.text).toBe(200);
    expect((await api(srv.baseUrl, runtime.token).get('/api/runtime/whoami')).status).toBe(401);
    // The other org's key was never touched.
    const theirs = await api(srv.baseUrl, other.token).get<{ keys: Array<{ id: string }> }>(
      `/api/orgs/${other.orgId}/api-keys`,
    );
    expect(theirs.body.keys.map((k) => k.id)).toEqual([otherKeyId]);
  });

  it("revokes a member's CLI credential: whoami refuses it, the person's account events and both chains say why", async () => {
    const form = (path: string, body: Record<string, string>) =>
      fetch(`${srv.baseUrl}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(body).toString(),
      }).then(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, string> }));
    const code = await form('/api/auth/device/code', { client_id: 'rampart-cli' });
    expect(code.status).toBe(200);
    const memberSession = await login(srv.baseUrl, member.email, PASSWORD);
    const approve = await api(srv.baseUrl, memberSession).post('/api/auth/device/approve', {
      userCode: code.body.user_code,
    });
    expect(approve.status, approve.text).toBe(200);
    const minted = await form('/api/auth/device/token', {
      grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
      device_code: code.body.device_code ?? '',
      client_id: 'rampart-cli',
    });
    expect(minted.status).toBe(200);
    const cli = minted.body.access_token ?? '';
    expect((await api(srv.baseUrl, cli).get('/api/cli/whoami')).status).toBe(200);
    const creds = await asOp().get<{
      credentials: Array<{ kind: string; id: string; userId: string | null }>;
    }>(`${ad()}/credentials`);
    expect(creds.text).not.toContain(cli);
    const entry = creds.body.credentials.find((c) => c.kind === 'cli_credential');
    expect(entry?.userId).toBe(member.userId);
    // Not a member of the other org: its path does not reach this credential.
    const foreign = await asOp().post<Err>(`/api/admin/orgs/${other.orgId}/credentials/${entry?.id}/revoke`, {
      reason: REASON,
    });
    expect(foreign.status).toBe(404);
    const r = await asOp().post(`${ad()}/credentials/${entry?.id}/revoke`, { reason: REASON });
    expect(r.status, r.text).toBe(200);
    expect((await api(srv.baseUrl, cli).get('/api/cli/whoami')).status).toBe(401);
    expect(await rows(owner.orgId, 'cli_credential.revoked')).toEqual([
      expect.objectContaining({ meta: expect.objectContaining({ reason: REASON, userId: member.userId }) }),
    ]);
    const events = await api(srv.baseUrl, memberSession).get<{
      events: Array<{ action: string; meta: unknown }>;
    }>('/api/me/events');
    expect(events.body.events).toContainEqual(
      expect.objectContaining({
        action: 'auth.cli_credential_revoked',
        meta: expect.objectContaining({ reason: REASON, via: 'operator' }),
      }),
    );
  });

  it('resends an invitation: a fresh link is mailed, the old link stops working, both chains hold the reason', async () => {
    const email = uniqueEmail('resend');
    const oldToken = await invite(srv, owner.token, owner.orgId, email, 'viewer');
    const list = await asOp().get<{ invitations: Array<{ invitationId: string; email: string }> }>(
      `${ad()}/invitations`,
    );
    const id = list.body.invitations.find((i) => i.email === email)?.invitationId ?? '';
    const wrongOrg = await asOp().post<Err>(`/api/admin/orgs/${other.orgId}/invitations/${id}/resend`, {
      reason: REASON,
    });
    expect(wrongOrg.status).toBe(404);
    const r = await asOp().post(`${ad()}/invitations/${id}/resend`, { reason: REASON });
    expect(r.status, r.text).toBe(200);
    expect(r.body).toEqual({ resent: true });
    const newToken = await lastResetToken(srv.mailer, email, 5_000, ['accept-invite']);
    expect(newToken).not.toBe(oldToken);
    const old = await api(srv.baseUrl).post<Err>('/api/auth/invitations/lookup', { token: oldToken });
    expect(old.status).toBe(404);
    const accepted = await api(srv.baseUrl).post('/api/auth/invitations/accept', {
      token: newToken,
      password: PASSWORD,
    });
    expect(accepted.status, accepted.text).toBe(200);
    expect(await rows(owner.orgId, 'invitation.resent')).toContainEqual(
      expect.objectContaining({ target: `invitation:${id}`, meta: { reason: REASON, via: 'operator' } }),
    );
    expect(await rows(null, 'operator.invitation_resent')).toContainEqual(
      expect.objectContaining({ meta: { org: owner.orgId, reason: REASON } }),
    );
  });

  it('forces a password reset: the old password and sessions stop working, a reset mail arrives', async () => {
    const session = await login(srv.baseUrl, member.email, PASSWORD);
    expect((await api(srv.baseUrl, session).get('/api/me')).status).toBe(200);
    const unknown = await asOp().post<Err>(`/api/admin/users/${randomUUID()}/force-password-reset`, {
      reason: REASON,
    });
    expect(unknown.status).toBe(404);
    const r = await asOp().post(`/api/admin/users/${member.userId}/force-password-reset`, { reason: REASON });
    expect(r.status, r.text).toBe(200);
    expect(r.body).toEqual({ queued: true });
    expect((await api(srv.baseUrl, session).get<Err>('/api/me')).status).toBe(401);
    expect((await api(srv.baseUrl, member.token).get<Err>('/api/me')).status).toBe(401);
    const bad = await api(srv.baseUrl).post<Err>('/api/auth/login', {
      email: member.email,
      password: PASSWORD,
    });
    expect(bad.status).toBe(401);
    expect(bad.body.error).toBe('invalid_credentials');
    const token = await lastResetToken(srv.mailer, member.email, 5_000, ['reset-password']);
    const NEW = 'another horse battery 43';
    const reset = await api(srv.baseUrl).post('/api/auth/reset-password', { token, password: NEW });
    expect(reset.status, reset.text).toBe(200);
    expect(
      (await api(srv.baseUrl).post('/api/auth/login', { email: member.email, password: NEW })).status,
    ).toBe(200);
    expect(await rows(null, 'auth.password_reset_forced')).toEqual([
      expect.objectContaining({ user_id: op.userId, meta: { reason: REASON, via: 'operator' } }),
    ]);
    expect(await rows(owner.orgId, 'operator.password_reset_forced')).toEqual([
      // The person may belong to orgs that have nothing to do with why: their admins see that support reset
      // the password, not the operator's notes about the person (those stay on the platform chain).
      expect.objectContaining({ target: `user:${member.userId}`, meta: { via: 'operator' } }),
    ]);
  });

  it('lists the platform chain newest first and verifies it; no audit row holds a secret', async () => {
    const page = await asOp().get<{ entries: Array<{ seq: number; action: string; orgId: string | null }> }>(
      '/api/admin/audit?limit=500',
    );
    expect(page.status, page.text).toBe(200);
    expect(page.body.entries.every((e) => e.orgId === null)).toBe(true);
    expect(page.body.entries.map((e) => e.action)).toContain('operator.org_suspended');
    const v = await asOp().post<{ ok: boolean; checked: number }>('/api/admin/audit/verify');
    expect(v.status, v.text).toBe(200);
    expect(v.body.ok).toBe(true);
    expect(v.body.checked).toBeGreaterThanOrEqual(page.body.entries.length);
    const dump = await srv.rampart.services.db.owner((q) =>
      q.query<{ t: string }>(
        "SELECT string_agg(meta::text || coalesce(target, ''), ' ') AS t FROM audit_log",
      ),
    );
    for (const secret of [apiKey.key, runtime.token, JOB_SECRET, URL_SECRET])
      expect(dump.rows[0]?.t ?? '').not.toContain(secret);
  });
});

/** An account made a platform operator (what `rampart admin create-operator` does) and signed in with TOTP. */
async function operatorSession(srv: Srv): Promise<string> {
  const op = await signup(srv.baseUrl, { email: uniqueEmail('operator') });
  await srv.rampart.services.db.owner((q) =>
    q.query('UPDATE users SET is_operator = true WHERE id = $1', [op.userId]),
  );
  const s = api(srv.baseUrl, op.token);
  const enroll = await s.post<{ secret: string }>('/api/auth/totp/enroll', { password: op.password });
  await s.post('/api/auth/totp/confirm', { code: totpCode(enroll.body.secret) });
  return login(srv.baseUrl, op.email, PASSWORD, { totp: totpCode(enroll.body.secret, 1) });
}

const DB = process.env.TEST_DATABASE_URL;
const REDIS_URL = process.env.REDIS_URL;

describe.skipIf(!DB || !REDIS_URL)('suspension across two nodes (postgres, node bus)', () => {
  let nodeA: Srv;
  let nodeB: Srv;

  beforeAll(async () => {
    nodeA = await startTestServer('postgres', { REDIS_URL: REDIS_URL as string });
    nodeB = await startTestServer('postgres', {
      REDIS_URL: REDIS_URL as string,
      DATABASE_URL: nodeA.url as string,
    });
  });
  afterAll(async () => {
    await nodeB?.close();
    await nodeA?.close();
  });

  /** Polls node B until `path` with `token` answers `status`; returns the milliseconds it took. */
  const until = async (token: string, path: string, status: number): Promise<number> => {
    const t0 = Date.now();
    for (;;) {
      const r = await api(nodeB.baseUrl, token).get(path);
      if (r.status === status) return Date.now() - t0;
      if (Date.now() - t0 > 8_000) throw new Error(`${path} still ${r.status} on node B`);
      await new Promise((res) => setTimeout(res, 25));
    }
  };

  it('node B drops its cached keys and tokens of the org as soon as node A suspends it, and again on resume', async () => {
    const owner = await signup(nodeA.baseUrl);
    const a = api(nodeA.baseUrl, owner.token);
    const key = await a.post<{ key: string }>(`/api/orgs/${owner.orgId}/api-keys`, { name: 'k' });
    const rt = await a.post<{ token: string }>(`/api/orgs/${owner.orgId}/runtime-tokens`, { name: 'r' });
    expect(key.status, key.text).toBe(201);
    expect(rt.status, rt.text).toBe(201);
    const creds: Array<[string, string]> = [
      [key.body.key, '/v1/models'],
      [rt.body.token, '/api/runtime/whoami'],
    ];
    // Both in node B's cache now.
    for (const [token, path] of creds) expect((await api(nodeB.baseUrl, token).get(path)).status).toBe(200);
    const op = api(nodeA.baseUrl, await operatorSession(nodeA));
    const s = await op.post(`/api/admin/orgs/${owner.orgId}/suspend`, { reason: REASON });
    expect(s.status, s.text).toBe(200);
    for (const [token, path] of creds) {
      // Well under the 5 s cache TTL: the 'org' invalidation crossed the bus.
      expect(await until(token, path, 403)).toBeLessThan(1_000);
      const r = await api(nodeB.baseUrl, token).get<Err>(path);
      expect(r.body.error).toBe('org_suspended');
    }
    const r = await op.post(`/api/admin/orgs/${owner.orgId}/resume`, { reason: REASON });
    expect(r.status, r.text).toBe(200);
    for (const [token, path] of creds) expect(await until(token, path, 200)).toBeLessThan(1_000);
  });
});
