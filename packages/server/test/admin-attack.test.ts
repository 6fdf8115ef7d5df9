/**
 * The operator console (issue 27) as an outside reviewer attacks it: admin routes with the wrong credential kinds,
 * reasons the database disagrees with or nobody can read, nested ids of another org, every write route and every
 * key-admitting route of a suspended org (and the ways around `requireOrg`: account erasure), the platform
 * settings table from a tenant context, and what an incident notice to "all" does with a suspended org.
 * One server on PGlite: none of this depends on the engine.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type Account,
  addMemberWithRole,
  api,
  invite,
  type Member,
  mailsTo,
  PASSWORD,
  signup,
  uniqueEmail,
} from '@rampart/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { API_KEY_SCOPES } from '../src/platform/permissions.js';
import { deleteOrg } from '../src/tenancy/orgs.js';
import { startTestServer } from './helpers.js';
import { operatorSession } from './operator-support.js';
import { appOrgRoutes, type OrgTargets, orgRouteCall, routeKey } from './org-routes.js';

type Srv = Awaited<ReturnType<typeof startTestServer>>;
type Err = { error: string; message: string };

const REASON = 'Ticket 9001: reviewer attack run on the console';

describe('operator console under attack', () => {
  let srv: Srv;
  let opToken: string;
  const asOp = () => api(srv.baseUrl, opToken);
  const auditCount = (orgId: string | null, action: string) =>
    srv.rampart.services.db.owner(async (q) => {
      const { rows } = await q.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM audit_log WHERE org_id IS NOT DISTINCT FROM $1 AND action = $2',
        [orgId, action],
      );
      return rows[0]?.n ?? 0;
    });
  const orgExists = (orgId: string) =>
    srv.rampart.services.db.owner(async (q) => {
      const { rows } = await q.query('SELECT 1 FROM orgs WHERE id = $1', [orgId]);
      return rows.length === 1;
    });
  const suspend = async (orgId: string) => {
    const r = await asOp().post(`/api/admin/orgs/${orgId}/suspend`, { reason: REASON });
    expect(r.status, r.text).toBe(200);
  };
  const resume = async (orgId: string) => {
    const r = await asOp().post(`/api/admin/orgs/${orgId}/resume`, { reason: REASON });
    expect(r.status, r.text).toBe(200);
  };

  beforeAll(async () => {
    // The operators' Slack receiver below is a loopback stand-in, allow-listed as a private receiver would be.
    srv = await startTestServer('pglite', { RAMPART_OUTBOUND_ALLOW: '127.0.0.1' });
    opToken = (await operatorSession(srv.baseUrl, srv.rampart.services.db)).token;
  });
  afterAll(async () => {
    await srv?.close();
  });

  it('an API key with every scope and a runtime token get 401 on every admin route, changing nothing', async () => {
    const owner = await signup(srv.baseUrl, { orgName: 'Key Holder' });
    const o = `/api/orgs/${owner.orgId}`;
    const key = await api(srv.baseUrl, owner.token).post<{ key: string }>(`${o}/api-keys`, {
      name: 'all',
      scopes: [...API_KEY_SCOPES],
    });
    const rt = await api(srv.baseUrl, owner.token).post<{ token: string }>(`${o}/runtime-tokens`, {
      name: 'rt',
    });
    expect([key.status, rt.status]).toEqual([201, 201]);
    const calls: Array<[string, string, unknown?]> = [
      ['GET', '/api/admin/orgs'],
      ['GET', `/api/admin/orgs/${owner.orgId}/credentials`],
      ['GET', '/api/admin/audit'],
      ['GET', '/api/admin/settings'],
      ['PUT', '/api/admin/settings/security_contact', { value: 'mailto:attacker@example.com' }],
      ['POST', `/api/admin/orgs/${owner.orgId}/suspend`, { reason: REASON }],
      ['POST', `/api/admin/users/${owner.userId}/force-password-reset`, { reason: REASON }],
      ['POST', '/api/admin/notices', { orgIds: 'all', subject: 'Phish', body: 'Click here' }],
    ];
    for (const token of [key.body.key, rt.body.token]) {
      for (const [method, path, body] of calls) {
        const r = await api(srv.baseUrl, token).request<Err>(method, path, body);
        expect(r.status, `${method} ${path}`).toBe(401);
        expect(r.body.error).toBe('unauthorized');
      }
    }
    expect(await auditCount(owner.orgId, 'operator.org_suspended')).toBe(0);
    expect(srv.rampart.services.settings.view('security_contact').stored).toBe(false);
  });

  describe('typed reasons', () => {
    let org: Account;
    beforeAll(async () => {
      org = await signup(srv.baseUrl, { orgName: 'Reasoned Org' });
    });

    it('counts characters as the database does: six emoji are 400 validation_failed, not a 500', async () => {
      // 6 code points but 12 UTF-16 units: the orgs CHECK counts code points, and the schema must agree.
      const r = await asOp().post<Err>(`/api/admin/orgs/${org.orgId}/suspend`, { reason: '🔥'.repeat(6) });
      expect(r.status, r.text).toBe(400);
      expect(r.body.error).toBe('validation_failed');
      expect(await auditCount(null, 'operator.org_suspended')).toBe(0);
      // Ten of them are ten characters: accepted, and the database agrees.
      await suspend(org.orgId);
      const ok = await asOp().post(`/api/admin/orgs/${org.orgId}/resume`, { reason: '🔥'.repeat(10) });
      expect(ok.status, ok.text).toBe(200);
    });

    it('refuses reasons of control, zero-width or bidi-override characters; keeps line breaks and tabs', async () => {
      const path = `/api/admin/orgs/${org.orgId}/suspend`;
      for (const reason of [
        '\u0001'.repeat(12),
        '\u200b'.repeat(12),
        `ok${'\u200b'.repeat(10)}`,
        'Ticket 4711 \u202eduolc deppid\u202c fraud',
        `Ticket 4711${'\u0085'.repeat(3)} chargeback`,
        'Ticket 4711\u001b[2J chargeback',
      ]) {
        const r = await asOp().post<Err>(path, { reason });
        expect(r.status, JSON.stringify(reason)).toBe(400);
        expect(r.body.error).toBe('validation_failed');
      }
      expect(await auditCount(org.orgId, 'operator.org_suspended')).toBe(1); // the emoji test's one
      const multi = await asOp().post(path, { reason: 'Ticket 4711:\n\tchargeback fraud under review' });
      expect(multi.status, multi.text).toBe(200);
      await resume(org.orgId);
    });
  });

  it('suspend and resume of an org that does not exist are 404 and write no audit row', async () => {
    const ghost = randomUUID();
    const before = await auditCount(null, 'operator.org_suspended');
    for (const action of ['suspend', 'resume']) {
      const r = await asOp().post<Err>(`/api/admin/orgs/${ghost}/${action}`, { reason: REASON });
      expect(r.status, r.text).toBe(404);
      expect(r.body.error).toBe('not_found');
    }
    expect(await auditCount(null, 'operator.org_suspended')).toBe(before);
    expect(await auditCount(ghost, 'operator.org_suspended')).toBe(0);
  });

  it("another org's invitation through this org's path is 404; a resend answers and audits no token", async () => {
    const a = await signup(srv.baseUrl, { orgName: 'Path Org A' });
    const b = await signup(srv.baseUrl, { orgName: 'Path Org B' });
    const invitee = uniqueEmail('b-invitee');
    const bToken = await invite(srv, b.token, b.orgId, invitee, 'admin');
    const inv = await api(srv.baseUrl, b.token).get<{ invitations: Array<{ invitationId: string }> }>(
      `/api/orgs/${b.orgId}/invitations`,
    );
    const bInvitation = inv.body.invitations[0]?.invitationId ?? '';
    const cross = await asOp().post<Err>(`/api/admin/orgs/${a.orgId}/invitations/${bInvitation}/resend`, {
      reason: REASON,
    });
    expect(cross.status, cross.text).toBe(404);
    // Nothing changed for B: its link still opens.
    const look = await api(srv.baseUrl).post('/api/auth/invitations/lookup', { token: bToken });
    expect(look.status, look.text).toBe(200);

    const own = await asOp().post(`/api/admin/orgs/${b.orgId}/invitations/${bInvitation}/resend`, {
      reason: REASON,
    });
    expect(own.status, own.text).toBe(200);
    expect(own.text).not.toContain(bToken);
    const tokens = () =>
      mailsTo(srv.mailer, invitee).map((m) => /accept-invite#token=([\w-]+)/.exec(m.text)?.[1] ?? '');
    await expect.poll(() => tokens().length, { timeout: 5_000 }).toBe(2);
    const fresh = tokens()[1] ?? '';
    expect(fresh.length).toBeGreaterThan(20);
    expect(fresh).not.toBe(bToken);
    const rows = await srv.rampart.services.db.owner((q) =>
      q.query<{ row: string }>(`SELECT row_to_json(a)::text AS row FROM audit_log a WHERE target = $1`, [
        `invitation:${bInvitation}`,
      ]),
    );
    expect(rows.rows.length).toBeGreaterThanOrEqual(2);
    for (const { row } of rows.rows) {
      expect(row).not.toContain(fresh);
      expect(row).not.toContain(bToken);
    }
  });

  describe('a suspended org', () => {
    let owner: Account;
    let member: Member;
    let allKey: string;
    let runtime: string;
    let targets: OrgTargets;
    let agentToken: string;

    beforeAll(async () => {
      owner = await signup(srv.baseUrl, { orgName: 'Suspended Sweep Org' });
      const o = `/api/orgs/${owner.orgId}`;
      const asOwner = api(srv.baseUrl, owner.token);
      const k = await asOwner.post<{ id: string; key: string }>(`${o}/api-keys`, {
        name: 'all',
        scopes: [...API_KEY_SCOPES],
      });
      const t = await asOwner.post<{ id: string; token: string }>(`${o}/runtime-tokens`, { name: 'rt' });
      expect([k.status, t.status]).toEqual([201, 201]);
      allKey = k.body.key;
      runtime = t.body.token;
      const c = await asOwner.post<{ agentToken: string }>(`${o}/connections`, { name: 'dw', mode: 'agent' });
      expect(c.status, c.text).toBe(201);
      agentToken = c.body.agentToken;
      member = await addMemberWithRole(srv, owner.token, owner.orgId, 'member');
      // The refusal comes before any id is looked up: well-formed ids that name nothing are enough.
      targets = {
        orgId: owner.orgId,
        orgName: 'Suspended Sweep Org',
        userId: member.userId,
        apiKeyId: k.body.id,
        runtimeTokenId: t.body.id,
        secretName: 'SWEEP_SECRET',
        providerName: 'sweep-provider',
        jobId: randomUUID(),
        alertChannelId: randomUUID(),
        auditSinkId: randomUUID(),
        widgetId: randomUUID(),
        documentId: randomUUID(),
        connectionId: randomUUID(),
        signingKeyId: randomUUID(),
        invitationId: randomUUID(),
        skillName: 'sweep-skill',
      };
      await suspend(owner.orgId);
    });

    it('refuses every write route to its owner and every org route to its key, 403 org_suspended; GETs work', async () => {
      const routes = appOrgRoutes(srv.rampart);
      expect(routes.length).toBeGreaterThan(60);
      const asOwner = api(srv.baseUrl, owner.token);
      const asKey = api(srv.baseUrl, allKey);
      for (const r of routes) {
        const call = orgRouteCall(r, targets);
        const key = await asKey.request<Err>(r.method, call.url, call.body);
        expect([key.status, key.body.error], `${routeKey(r)} with the key: ${key.text}`).toEqual([
          403,
          'org_suspended',
        ]);
        const own = await asOwner.request<Err>(r.method, call.url, call.body);
        if (r.method === 'GET') {
          expect(own.status, `${routeKey(r)}: ${own.text}`).toBeLessThan(500);
          expect(own.body.error, `${routeKey(r)}: ${own.text}`).not.toBe('org_suspended');
        } else {
          expect([own.status, own.body.error], `${routeKey(r)}: ${own.text}`).toEqual([403, 'org_suspended']);
        }
      }
      expect(await orgExists(owner.orgId)).toBe(true);
    });

    it('refuses its key and runtime token on the gateway, MCP and the runtime routes', async () => {
      const key = api(srv.baseUrl, allKey);
      const rt = api(srv.baseUrl, runtime);
      const answers = [
        await key.get<Err>('/v1/models'),
        await key.post<Err>('/v1/chat/completions', {
          model: 'm',
          messages: [{ role: 'user', content: 'hi' }],
        }),
        await key.post<Err>('/v1/embeddings', { model: 'm', input: 'hi' }),
        await api(srv.baseUrl).request<Err>(
          'POST',
          '/v1/messages',
          { model: 'm', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] },
          { 'x-api-key': allKey },
        ),
        await key.post<Err>('/mcp', { jsonrpc: '2.0', id: 1, method: 'tools/list' }),
        await rt.get<Err>('/api/runtime/whoami'),
        await rt.get<Err>('/api/runtime/skills'),
        await rt.get<Err>('/api/runtime/signing-keys'),
        await rt.post<Err>('/api/runtime/telemetry', { events: [] }),
      ];
      for (const a of answers) {
        // The Anthropic wire format carries our code in error.details.error_code.
        const code =
          typeof a.body.error === 'string'
            ? a.body.error
            : (a.body.error as unknown as { details: { error_code: string } }).details.error_code;
        expect([a.status, code], a.text).toEqual([403, 'org_suspended']);
      }
    });

    it("refuses its database agent at the /agent handshake; another org's agent still connects", async () => {
      const upgrade = (token: string) =>
        new Promise<number>((resolve) => {
          const ws = new WebSocket(`${srv.baseUrl.replace('http', 'ws')}/agent`, {
            headers: { authorization: `Bearer ${token}` },
          });
          ws.on('open', () => {
            ws.close();
            resolve(101);
          });
          ws.on('unexpected-response', (_req, res) => {
            resolve(res.statusCode ?? 0);
            ws.terminate();
          });
          ws.on('error', () => resolve(-1));
        });
      expect(await upgrade(agentToken)).toBe(401);
      const other = await signup(srv.baseUrl, { orgName: 'Agent Bystander' });
      const c = await api(srv.baseUrl, other.token).post<{ agentToken: string }>(
        `/api/orgs/${other.orgId}/connections`,
        { name: 'dw', mode: 'agent' },
      );
      expect(await upgrade(c.body.agentToken)).toBe(101);
    });

    it("its sole owner's account erasure neither deletes it nor leaves it; a member's does not leave it", async () => {
      // A suspended org is evidence: DELETE /api/orgs/:orgId is refused, so erasing the account that is its only
      // member must not purge it either, and no member leaves it (leaving is refused) through DELETE /api/me.
      const solo = await signup(srv.baseUrl, { orgName: 'Solo Abuser' });
      await suspend(solo.orgId);
      const del = await api(srv.baseUrl, solo.token).del<Err>('/api/me', {
        password: PASSWORD,
        confirm: solo.email,
      });
      expect([del.status, del.body.error], del.text).toEqual([403, 'org_suspended']);
      expect(await orgExists(solo.orgId)).toBe(true);
      expect(await auditCount(solo.orgId, 'operator.org_suspended')).toBe(1);

      const leave = await api(srv.baseUrl, member.token).del<Err>('/api/me', {
        password: PASSWORD,
        confirm: member.email,
      });
      expect([leave.status, leave.body.error], leave.text).toEqual([403, 'org_suspended']);
      const still = await api(srv.baseUrl, owner.token).get<{ members: Array<{ userId: string }> }>(
        `/api/orgs/${owner.orgId}/members`,
      );
      expect(still.body.members.map((m) => m.userId)).toContain(member.userId);

      // Resumed, the same erasure goes through.
      await resume(solo.orgId);
      const again = await api(srv.baseUrl, solo.token).del<{ deletedOrgIds: string[] }>('/api/me', {
        password: PASSWORD,
        confirm: solo.email,
      });
      expect(again.status, again.text).toBe(200);
      expect(again.body.deletedOrgIds).toEqual([solo.orgId]);
    });

    it('a deletion that passed requireOrg just before the suspension does not purge the org after it', async () => {
      // The route's check and the purge are two steps; the purge re-reads the suspension under the row lock.
      const late = await signup(srv.baseUrl, { orgName: 'Late Deleter' });
      await suspend(late.orgId);
      const err = await deleteOrg(
        srv.rampart.services,
        { userId: late.userId },
        late.orgId,
        'Late Deleter',
      ).catch((e: unknown) => e);
      expect((err as { code?: string }).code).toBe('org_suspended');
      expect(await orgExists(late.orgId)).toBe(true);
    });

    it('an incident notice to "all" still reaches its owners (an incident concerns suspended customers too)', async () => {
      const r = await asOp().post<{ noticeId: string }>('/api/admin/notices', {
        orgIds: 'all',
        subject: 'Incident on 7 December',
        body: 'We are writing to tell you about an incident.',
      });
      expect(r.status, r.text).toBe(201);
      const n = await asOp().get<{ notice: { perOrg: Array<{ orgId: string; recipients: number }> } }>(
        `/api/admin/notices/${r.body.noticeId}`,
      );
      expect(n.body.notice.perOrg.find((p) => p.orgId === owner.orgId)?.recipients).toBe(1);
      expect(await auditCount(owner.orgId, 'operator.notice_sent')).toBe(1);
    });
  });

  it('a setting value with an unpaired surrogate is 400 validation_failed, not a 500, and nothing is stored', async () => {
    // JSON lets a client send "\ud800"; it has no UTF-8 form and the seal refuses it.
    for (const [key, value] of [
      ['turnstile_secret', 'abc\\ud800def-secret-value'],
      ['billing_webhook_secret', 'whsec-0123456789\\udc00abcdef'],
    ]) {
      const r = await fetch(`${srv.baseUrl}/api/admin/settings/${key}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${opToken}`, 'content-type': 'application/json' },
        body: `{"value":"${value}"}`,
      });
      const body = (await r.json()) as Err;
      expect([r.status, body.error], JSON.stringify(body)).toEqual([400, 'validation_failed']);
      expect(JSON.stringify(body)).not.toContain('secret-value');
      expect(srv.rampart.services.settings.view(key as 'turnstile_secret').stored).toBe(false);
    }
  });

  it('an unpaired surrogate anywhere in an /api body is 400, not a 500 (an org secret, a key name)', async () => {
    const owner = await signup(srv.baseUrl, { orgName: 'Surrogates' });
    const put = (path: string, raw: string) =>
      fetch(`${srv.baseUrl}${path}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${owner.token}`, 'content-type': 'application/json' },
        body: raw,
      });
    const secrets = `/api/orgs/${owner.orgId}/secrets/lone`;
    for (const raw of ['{"value":"x\\ud800y"}', '{"value":"\\udfff"}', '{"value\\udc00":"x"}']) {
      const r = await put(secrets, raw);
      expect([r.status, ((await r.json()) as Err).error], raw).toEqual([400, 'validation_failed']);
    }
    // A well-formed pair (an emoji written as two escapes) is text, and is stored.
    expect((await put(secrets, '{"value":"ok \\ud83d\\ude00"}')).status).toBeLessThan(300);
  });

  it("redirecting or clearing the operators' Slack channel is still posted to the channel it replaced", async () => {
    const got: Array<{ path: string; text: string }> = [];
    const receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString();
      });
      req.on('end', () => {
        got.push({ path: req.url ?? '', text: String((JSON.parse(body) as { text?: string }).text) });
        res.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    try {
      const { operatorAlerts } = srv.rampart.services;
      const legit = await asOp().put('/api/admin/settings/slack_webhook_url', { value: `${base}/legit` });
      expect(legit.status, legit.text).toBe(200);
      await operatorAlerts.settle();
      got.length = 0;
      // A stolen operator session points the channel elsewhere: the operators' own channel hears of it.
      await asOp().put('/api/admin/settings/slack_webhook_url', { value: `${base}/attacker` });
      await operatorAlerts.settle();
      expect(got.find((g) => g.path === '/legit')?.text).toContain('platform setting set: slack_webhook_url');
      got.length = 0;
      // Cleared, no channel is left in force: the one in force until now hears of it.
      await asOp().del('/api/admin/settings/slack_webhook_url');
      await operatorAlerts.settle();
      expect(got.find((g) => g.path === '/attacker')?.text).toContain(
        'platform setting cleared: slack_webhook_url',
      );
      expect(got.filter((g) => g.path === '/legit')).toEqual([]);
    } finally {
      receiver.close();
    }
  });

  it('platform_settings is invisible and unwritable in a tenant context', async () => {
    // Signed up first: a stored Turnstile secret turns the bot check on for sign-ups at once.
    const org = await signup(srv.baseUrl, { orgName: 'Nosy Tenant' });
    const put = await asOp().put('/api/admin/settings/turnstile_secret', {
      value: 'tenant-must-not-see-this',
    });
    expect(put.status, put.text).toBe(200);
    const { db } = srv.rampart.services;
    const seen = await db.org(org.orgId, (q) => q.query('SELECT key FROM platform_settings'));
    expect(seen.rows).toEqual([]);
    const seenAsUser = await db.tx({ orgId: null, userId: org.userId }, (q) =>
      q.query('SELECT key FROM platform_settings'),
    );
    expect(seenAsUser.rows).toEqual([]);
    await expect(
      db.org(org.orgId, (q) =>
        q.query(`INSERT INTO platform_settings (key, value_sealed) VALUES ('smtp_url', 'x')`),
      ),
    ).rejects.toThrow();
    const upd = await db.org(org.orgId, (q) => q.query(`UPDATE platform_settings SET value_masked = 'x'`));
    expect(upd.rowCount).toBe(0);
    const del = await asOp().del('/api/admin/settings/turnstile_secret');
    expect(del.status, del.text).toBe(200);
  });
});
