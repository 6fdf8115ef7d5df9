import { randomBytes, randomUUID } from 'node:crypto';
import { signHmacHex } from '@rampart/core/webhooks';
import {
  type Account,
  addExistingMember,
  addMemberWithRole,
  api,
  login,
  type Member,
  signup,
} from '@rampart/testing';
import type { FastifyRequest } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Queryable } from '../src/db/types.js';
import { sendNotice } from '../src/mail/notices.js';
import { enqueueMail } from '../src/mail/outbox.js';
import { verifyChain } from '../src/platform/audit/verify.js';
import { recordExchange } from '../src/widget/conversations.js';
import { tablesContaining } from './fixtures.js';
import { ENGINES, startTestServer } from './helpers.js';
import { makePackage, makeSigner } from './skills-support.js';
import { orderEvent, TEST_BILLING_PLANS } from './widget-support.js';

type Srv = Awaited<ReturnType<typeof startTestServer>>;
const BILLING_SECRET = 'billing-secret-for-hard-delete-0001';

/** Audit tables carry org_id without a foreign key (rows must outlive nothing but the purge itself). */
const PURGED_BY_FUNCTION = ['audit_heads', 'audit_log'];

/** Every base table in the schema with an org_id column: the tenant tables, found, not listed. */
async function tenantTables(q: Queryable): Promise<string[]> {
  const { rows } = await q.query<{ table_name: string }>(
    `SELECT c.table_name FROM information_schema.columns c
       JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
      WHERE c.table_schema = 'public' AND c.column_name = 'org_id' AND t.table_type = 'BASE TABLE'
      ORDER BY c.table_name`,
  );
  return rows.map((r) => r.table_name);
}

/** Rows per tenant table for one org, read as the owner (no RLS in the way). */
async function countsFor(srv: Srv, orgId: string): Promise<Record<string, number>> {
  return srv.rampart.services.db.owner(async (q) => {
    const out: Record<string, number> = {};
    for (const t of await tenantTables(q)) {
      const { rows } = await q.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM "${t}" WHERE org_id = $1`,
        [orgId],
      );
      out[t] = rows[0]?.n ?? 0;
    }
    const orgs = await q.query<{ n: number }>('SELECT count(*)::int AS n FROM orgs WHERE id = $1', [orgId]);
    out.orgs = orgs.rows[0]?.n ?? 0;
    return out;
  });
}

describe.each(ENGINES)('org hard delete (%s)', (engine) => {
  let srv: Srv;
  let doomed: Account;
  let doomedName: string;
  let admin: Member;
  let viewer: Member;
  let kept: Account;
  let apiKey: string;
  let runtimeToken: string;
  let secretValue: string;
  const fake = (token: string) => ({ headers: { authorization: `Bearer ${token}` } }) as FastifyRequest;

  const keptView = async () => {
    const a = api(srv.baseUrl, kept.token);
    const o = `/api/orgs/${kept.orgId}`;
    return Promise.all(
      ['', '/members', '/settings', '/api-keys', '/secrets', '/audit?limit=500'].map(
        async (p) => (await a.get(`${o}${p}`)).body,
      ),
    );
  };

  beforeAll(async () => {
    srv = await startTestServer(engine, {
      RAMPART_BILLING_WEBHOOK_SECRET: BILLING_SECRET,
      RAMPART_BILLING_PLANS: TEST_BILLING_PLANS,
    });
    const tag = randomBytes(4).toString('hex');
    doomedName = `Doomed Org ${tag}`;
    doomed = await signup(srv.baseUrl, { orgName: doomedName });
    admin = await addMemberWithRole(srv, doomed.token, doomed.orgId, 'admin');
    viewer = await addMemberWithRole(srv, doomed.token, doomed.orgId, 'viewer');
    const d = api(srv.baseUrl, doomed.token);
    const o = `/api/orgs/${doomed.orgId}`;
    apiKey = (await d.post<{ key: string }>(`${o}/api-keys`, { name: 'doomed key', region: 'eu' })).body.key;
    runtimeToken = (await d.post<{ token: string }>(`${o}/runtime-tokens`, { name: 'doomed rt' })).body.token;
    secretValue = `sk-doomed-${randomBytes(12).toString('hex')}`;
    expect((await d.put(`${o}/secrets/DOOMED_SECRET`, { value: secretValue })).status).toBe(200);
    expect(
      (
        await d.put(`${o}/providers/doomed`, {
          baseUrl: 'https://llm.example.com/v1',
          apiKey: 'sk-doomed-provider-key-0000',
          models: ['m'],
        })
      ).status,
    ).toBe(200);
    expect((await d.patch(`${o}/settings`, { region: 'eu', retentionDays: 30 })).status).toBe(200);
    const channel = await d.post<{ id: string }>(`${o}/alert-channels`, {
      type: 'webhook',
      name: 'doomed hook',
      config: { url: 'https://hooks.example.com/doomed' },
    });
    expect(channel.status).toBe(201);
    // An audit sink (the test server's delivery worker is off: example.com is never contacted).
    const sink = await d.post<{ id: string }>(`${o}/audit-sinks`, {
      kind: 'https',
      name: 'doomed siem',
      config: { url: 'https://siem.example.com/doomed' },
    });
    expect(sink.status, JSON.stringify(sink.body)).toBe(201);
    const job = await d.post<{ id: string }>(`${o}/jobs`, {
      name: 'doomed job',
      schedule: '0 3 * * *',
      url: 'https://doomed.example.com/nightly',
      auth: { type: 'bearer', value: 'doomed-bearer-value-0000' },
      alertChannelIds: [channel.body.id],
    });
    expect(job.status).toBe(201);
    expect((await d.post(`${o}/jobs/${job.body.id}/run`)).status).toBe(202);
    // Widget surface: widget, document and chunks, a visitor, a message (its model call fails: no provider
    // serves the model, which still records the message and the month's usage), a checkout nonce and an
    // applied billing event.
    const widget = await d.post<{ id: string }>(`${o}/widgets`, {
      name: 'doomed widget',
      allowedOrigins: ['https://doomed.example.com'],
      model: 'no-such-model',
    });
    expect(widget.status, widget.text).toBe(201);
    const doc = await d.post(`${o}/widgets/${widget.body.id}/documents`, {
      name: 'd.txt',
      content: 'doomed words',
    });
    expect(doc.status, doc.text).toBe(201);
    const origin = { origin: 'https://doomed.example.com' };
    const session = await api(srv.baseUrl).request<{ visitorToken: string }>(
      'POST',
      `/widget/${widget.body.id}/session`,
      undefined,
      origin,
    );
    expect(session.status, session.text).toBe(200);
    const message = await api(srv.baseUrl, session.body.visitorToken).request(
      'POST',
      `/widget/${widget.body.id}/messages`,
      { message: 'hello' },
      origin,
    );
    expect(message.status, message.text).toBe(404);
    // An answered message (with no provider, recorded as the message route records one): a sealed conversation.
    await srv.rampart.services.db.org(doomed.orgId, (q) =>
      recordExchange(q, srv.rampart.services.ring, {
        orgId: doomed.orgId,
        widgetId: widget.body.id,
        visitorId: randomUUID(),
        ipHash: 'd'.repeat(64),
        question: 'doomed question',
        reply: 'doomed reply',
        redact: true,
        grounded: false,
        chunks: 0,
        latencyMs: 1,
      }),
    );
    const checkout = await d.post<{ nonce: string }>(`${o}/billing/checkout`, { plan: 'pro' });
    expect(checkout.status, checkout.text).toBe(200);
    const event = JSON.stringify(orderEvent('order_created', checkout.body.nonce, 'order-doomed-1', 'pro'));
    const hook = await fetch(`${srv.baseUrl}/webhooks/billing`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-signature': signHmacHex(BILLING_SECRET, event) },
      body: event,
    });
    expect(hook.status).toBe(200);
    expect((await d.post(`${o}/connections`, { name: 'doomed db', mode: 'agent' })).status).toBe(201);
    // Skills surface: a signing key, a published package, and a telemetry event from the runtime.
    const builder = makeSigner();
    expect((await d.post(`${o}/signing-keys`, { publicKey: builder.publicKeyPem })).status).toBe(201);
    expect((await d.post(`${o}/skills`, await makePackage(builder, 'doomed-skill', 1))).status).toBe(201);
    const telemetry = await api(srv.baseUrl, runtimeToken).post('/api/runtime/telemetry', {
      events: [
        {
          skill: 'doomed-skill',
          version: 1,
          stepsTotal: 1,
          stepsOk: 1,
          stepsFailed: 0,
          durationMs: 5,
          outcome: 'succeeded',
          runtimeVersion: '1.0.0',
        },
      ],
    });
    expect(telemetry.status, telemetry.text).toBe(202);
    // Mail: an e-mail alert queued in the org's own context (the outbox row belongs to the org).
    await srv.rampart.services.db.org(doomed.orgId, (q) =>
      enqueueMail(q, srv.rampart.services.ring, {
        to: 'oncall@example.test',
        orgId: doomed.orgId,
        template: { kind: 'test', at: new Date().toISOString(), node: 'hard-delete test' },
      }),
    );
    // An operator's incident notice to the org (its per-org record and its outbox rows belong to the org).
    await sendNotice(
      srv.rampart.services.db,
      srv.rampart.services.ring,
      { requestId: 'hard-delete test' },
      { orgIds: [doomed.orgId], subject: 'Planned maintenance', body: 'Tonight, 22:00 UTC.' },
    );

    // Gateway limits: a counter row and a usage row (through the limits module: no upstream is reachable here).
    const keys = await d.get<{ keys: Array<{ id: string }> }>(`${o}/api-keys`);
    const keyId = keys.body.keys[0]?.id as string;
    expect((await d.patch(`${o}/api-keys/${keyId}`, { requestsPerMinute: 100 })).status).toBe(200);
    const limits = srv.rampart.services.limits;
    const ticket = await limits.admit({ orgId: doomed.orgId, keyId }, 'm', null);
    await limits.record(ticket, { status: 200, promptTokens: 1, completionTokens: 1, latencyMs: 1 });
    await limits.flush();

    kept = await signup(srv.baseUrl, { orgName: `Kept Org ${tag}` });
    const k = api(srv.baseUrl, kept.token);
    const ko = `/api/orgs/${kept.orgId}`;
    await addExistingMember(srv, kept.token, kept.orgId, admin, 'member');
    expect((await k.post(`${ko}/api-keys`, { name: 'kept key' })).status).toBe(201);
    expect((await k.post(`${ko}/runtime-tokens`, { name: 'kept rt' })).status).toBe(201);
    expect((await k.put(`${ko}/secrets/KEPT_SECRET`, { value: 'sk-kept-secret-value-9999' })).status).toBe(
      200,
    );

    // The credentials are in use (and so in this node's cache) when the org is deleted.
    await srv.rampart.services.auth.apiKey(fake(apiKey));
    await srv.rampart.services.auth.runtime(fake(runtimeToken));
  });
  afterAll(() => srv.close());

  it('the fixture populates every tenant table (a new table must be added here and to the purge)', async () => {
    const counts = await countsFor(srv, doomed.orgId);
    const empty = Object.entries(counts).filter(([, n]) => n === 0);
    expect(empty, `tenant tables without rows for the doomed org: ${JSON.stringify(counts)}`).toEqual([]);
  });

  it('every org_id column references orgs(id) ON DELETE CASCADE, except the audit tables purged by rampart_purge_org', async () => {
    const { rows } = await srv.rampart.services.db.owner(async (q) => {
      const tables = await tenantTables(q);
      return q.query<{ table_name: string; cascades: boolean }>(
        `SELECT t AS table_name, EXISTS (
            SELECT 1 FROM pg_constraint k
              JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1]
              JOIN pg_attribute r ON r.attrelid = k.confrelid AND r.attnum = k.confkey[1]
             WHERE k.contype = 'f' AND k.conrelid = format('public.%I', t)::regclass
               AND cardinality(k.conkey) = 1 AND a.attname = 'org_id'
               AND k.confrelid = 'public.orgs'::regclass AND r.attname = 'id' AND k.confdeltype = 'c'
          ) AS cascades
          FROM unnest($1::text[]) AS t`,
        [tables],
      );
    });
    expect(rows.length).toBeGreaterThanOrEqual(6);
    const without = rows.filter((r) => !r.cascades).map((r) => r.table_name);
    expect(without.sort()).toEqual(PURGED_BY_FUNCTION);
  });

  it('a wrong confirmation is 400 and an admin is 403: nothing deleted', async () => {
    const before = await countsFor(srv, doomed.orgId);
    const o = `/api/orgs/${doomed.orgId}`;
    const wrong = await api(srv.baseUrl, doomed.token).del<{ error: string }>(o, {
      confirm: doomedName.toLowerCase(),
    });
    expect(wrong.status).toBe(400);
    expect(wrong.body.error).toBe('validation_failed');
    for (const m of [admin, viewer]) {
      const r = await api(srv.baseUrl, m.token).del<{ error: string }>(o, { confirm: doomedName });
      expect(r.status).toBe(403);
      expect(r.body.error).toBe('forbidden');
    }
    expect(await countsFor(srv, doomed.orgId)).toEqual(before);
    expect((await api(srv.baseUrl, doomed.token).get(o)).status).toBe(200);
  });

  describe('after the owner deletes with the exact name', () => {
    let keptBefore: Awaited<ReturnType<typeof keptView>>;
    let keptCounts: Record<string, number>;
    beforeAll(async () => {
      keptBefore = await keptView();
      keptCounts = await countsFor(srv, kept.orgId);
      const r = await api(srv.baseUrl, doomed.token).del(`/api/orgs/${doomed.orgId}`, {
        confirm: doomedName,
      });
      expect(r.status, r.text).toBe(200);
      expect(r.body).toEqual({ ok: true });
    });

    it('no tenant table holds a row of the deleted org', async () => {
      const counts = await countsFor(srv, doomed.orgId);
      expect(Object.keys(counts).length).toBeGreaterThanOrEqual(7);
      for (const [table, n] of Object.entries(counts)) expect(n, table).toBe(0);
    });

    it('only a tombstone (id + time) and the platform audit target still name the org id; its name is nowhere', async () => {
      const { columns, tomb } = await srv.rampart.services.db.owner(async (q) => ({
        columns: (
          await q.query<{ column_name: string }>(
            `SELECT column_name FROM information_schema.columns
              WHERE table_schema = 'public' AND table_name = 'org_tombstones' ORDER BY column_name`,
          )
        ).rows.map((r) => r.column_name),
        tomb: (
          await q.query<{ id: string; deleted_at: Date }>('SELECT * FROM org_tombstones WHERE id = $1', [
            doomed.orgId,
          ])
        ).rows,
      }));
      expect(columns).toEqual(['deleted_at', 'id']);
      expect(tomb).toHaveLength(1);
      expect(Date.now() - (tomb[0]?.deleted_at.getTime() ?? 0)).toBeLessThan(120_000);
      expect(await tablesContaining(srv.rampart.services.db, doomedName)).toEqual([]);
      expect(await tablesContaining(srv.rampart.services.db, secretValue)).toEqual([]);
      expect((await tablesContaining(srv.rampart.services.db, doomed.orgId)).sort()).toEqual([
        'audit_log',
        'org_tombstones',
      ]);
    });

    it("the platform chain records 'org.deleted' without the name, and still verifies", async () => {
      const { rows, verify } = await srv.rampart.services.db.owner(async (q) => ({
        rows: (
          await q.query<Record<string, unknown>>(
            `SELECT * FROM audit_log WHERE org_id IS NULL AND action = 'org.deleted' AND target = $1`,
            [`org:${doomed.orgId}`],
          )
        ).rows,
        verify: await verifyChain(q, null),
      }));
      expect(rows).toHaveLength(1);
      expect(rows[0]?.user_id).toBe(doomed.userId);
      expect(JSON.stringify(rows[0])).not.toContain(doomedName);
      expect(verify.ok).toBe(true);
    });

    it("the other org's data and audit chain are intact", async () => {
      expect(await keptView()).toEqual(keptBefore);
      expect(await countsFor(srv, kept.orgId)).toEqual(keptCounts);
      const v = await api(srv.baseUrl, kept.token).get<{ ok: boolean; count: number }>(
        `/api/orgs/${kept.orgId}/audit/verify`,
      );
      expect(v.body.ok).toBe(true);
      expect(v.body.count).toBeGreaterThan(4);
    });

    it("the deleted org's members keep their accounts: they can sign in, but the org is 404", async () => {
      for (const who of [
        { email: doomed.email, password: doomed.password },
        { email: admin.email, password: admin.password },
        { email: viewer.email, password: viewer.password },
      ]) {
        const token = await login(srv.baseUrl, who.email, who.password);
        const a = api(srv.baseUrl, token);
        const org = await a.get<{ error: string }>(`/api/orgs/${doomed.orgId}`);
        expect(org.status).toBe(404);
        expect(org.body.error).toBe('not_found');
        const me = await a.get<{ orgs: Array<{ orgId: string }> }>('/api/me');
        expect(me.body.orgs.map((o) => o.orgId)).not.toContain(doomed.orgId);
      }
      const me = await api(srv.baseUrl, await login(srv.baseUrl, admin.email)).get<{
        orgs: Array<{ orgId: string; role: string }>;
      }>('/api/me');
      expect(me.body.orgs).toEqual([expect.objectContaining({ orgId: kept.orgId, role: 'member' })]);
    });

    it("the deleted org's API key and runtime token stop working at once, cache or not", async () => {
      const { auth } = srv.rampart.services;
      await expect(auth.apiKey(fake(apiKey))).rejects.toMatchObject({ code: 'unauthorized' });
      await expect(auth.runtime(fake(runtimeToken))).rejects.toMatchObject({ code: 'unauthorized' });
    });

    it('deleting again is 404', async () => {
      const r = await api(srv.baseUrl, doomed.token).del(`/api/orgs/${doomed.orgId}`, {
        confirm: doomedName,
      });
      expect(r.status).toBe(404);
    });
  });
});

describe('rampart_purge_org refuses another org than the tenant context (defence in depth)', () => {
  it('a query path holding org A context cannot purge org B, and the app role cannot DELETE orgs directly', async () => {
    const { createTestDb } = await import('./helpers.js');
    const { newId } = await import('../src/platform/ids.js');
    const t = await createTestDb('pglite');
    try {
      const [a, b] = [newId(), newId()];
      for (const id of [a, b])
        await t.db.platform((q) => q.query('INSERT INTO orgs (id, name) VALUES ($1, $2)', [id, 'x']));
      await expect(t.db.org(a, (q) => q.query('SELECT rampart_purge_org($1)', [b]))).rejects.toThrow(
        /purge refused/,
      );
      await expect(t.db.org(a, (q) => q.query('DELETE FROM orgs WHERE id = $1', [b]))).rejects.toThrow(
        /permission denied/,
      );
      const { rows } = await t.db.owner((q) =>
        q.query<{ n: number }>('SELECT count(*)::int AS n FROM orgs WHERE id = $1', [b]),
      );
      expect(rows[0]?.n).toBe(1);
    } finally {
      await t.close();
    }
  });
});
