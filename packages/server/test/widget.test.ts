/**
 * The chat widget server side: origin allow-lists at preflight and on every call, signed visitor sessions,
 * rate limits before any model work, exact quota admission under concurrency, document ingestion with quota
 * reservations, retrieval scoped to the tenant, and what the model is sent. The model is a local stub
 * speaking OpenAI's wire format.
 */
import { type Account, api, signup } from '@rampart/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestDocument } from '../src/widget/documents.js';
import { PLANS } from '../src/widget/plans.js';
import { tablesContaining } from './fixtures.js';
import { ENGINES, startTestServer } from './helpers.js';
import { startModelStub, useStubProvider, visitor } from './widget-support.js';

type Srv = Awaited<ReturnType<typeof startTestServer>>;
type Err = { error: string; message: string };
interface Widget {
  id: string;
  allowedOrigins: string[];
}
interface Billing {
  plan: string;
  limits: { widgets: number; monthlyMessages: number; knowledgeBytes: number };
  usage: { widgets: number; monthlyMessages: number; knowledgeBytes: number };
}

const SHOP = 'https://shop.example.com';
const ENV = {
  RAMPART_OUTBOUND_ALLOW: '127.0.0.1',
  RAMPART_TRUST_PROXY: '127.0.0.1',
  RAMPART_WIDGET_DOCUMENT_MAX_BYTES: '700000',
};

describe.each(ENGINES)('chat widget (%s)', (engine) => {
  let srv: Srv;
  let stub: Awaited<ReturnType<typeof startModelStub>>;
  let owner: Account;
  let widget: Widget;
  const o = (acc: Account = owner) => `/api/orgs/${acc.orgId}`;
  const a = (acc: Account = owner) => api(srv.baseUrl, acc.token);
  const newOrgWithWidget = async (limits = { perIpPerMinute: 1000, perWidgetPerMinute: 100_000 }) => {
    const acc = await signup(srv.baseUrl);
    await useStubProvider(srv.baseUrl, acc, stub.origin, ['chat-model']);
    const w = await a(acc).post<Widget>(`${o(acc)}/widgets`, {
      name: 'help',
      allowedOrigins: [SHOP],
      systemPrompt: 'You are the Shop helper.',
      model: 'chat-model',
      limits,
    });
    expect(w.status, w.text).toBe(201);
    return { acc, widget: w.body };
  };

  beforeAll(async () => {
    stub = await startModelStub();
    srv = await startTestServer(engine, ENV);
    ({ acc: owner, widget } = await newOrgWithWidget({ perIpPerMinute: 1000, perWidgetPerMinute: 100_000 }));
    const doc = await a().post(`${o()}/widgets/${widget.id}/documents`, {
      name: 'returns.md',
      format: 'markdown',
      content:
        '# Returns\n\nYou can return shoes within 30 days with the receipt.\n\n# Shipping\n\nWe ship to Canada and Mexico in five days.',
    });
    expect(doc.status, doc.text).toBe(201);
  });
  afterAll(async () => {
    await srv.close();
    await stub.close();
  });

  describe('origins and CORS', () => {
    it('a preflight from an allowed origin gets CORS headers for exactly that origin', async () => {
      const res = await fetch(`${srv.baseUrl}/widget/${widget.id}/messages`, {
        method: 'OPTIONS',
        headers: {
          origin: SHOP,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization, content-type',
        },
      });
      expect(res.status).toBe(204);
      expect(res.headers.get('access-control-allow-origin')).toBe(SHOP);
      expect(res.headers.get('access-control-allow-methods')).toBe('POST');
      expect(res.headers.get('access-control-allow-headers')).toContain('authorization');
      expect(res.headers.get('vary')).toContain('Origin');
    });

    it.each([
      ['another site', 'https://evil.example.com'],
      ['a look-alike subdomain', 'https://shop.example.com.evil.net'],
      ['the same host over http', 'http://shop.example.com'],
      ['a different port', 'https://shop.example.com:8443'],
      ['the opaque null origin', 'null'],
    ])('a preflight from %s fails: 403 origin_not_allowed and no CORS headers', async (_what, origin) => {
      const res = await fetch(`${srv.baseUrl}/widget/${widget.id}/session`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST' },
      });
      expect(res.status).toBe(403);
      expect(res.headers.get('access-control-allow-origin')).toBeNull();
      expect(((await res.json()) as Err).error).toBe('origin_not_allowed');
    });

    it('a request with no Origin or a wrong one is refused before anything runs', async () => {
      const calls = stub.calls.length;
      const none = await api(srv.baseUrl).request<Err>('POST', `/widget/${widget.id}/session`);
      expect(none.status).toBe(403);
      expect(none.body.error).toBe('origin_not_allowed');
      const { visitorToken } = (await visitor(srv.baseUrl, widget.id, SHOP).session()).body;
      const wrong = await visitor(srv.baseUrl, widget.id, 'https://evil.example.com').message(
        visitorToken,
        'hi',
      );
      expect(wrong.status).toBe(403);
      expect(wrong.body.error).toBe('origin_not_allowed');
      expect(wrong.headers.get('access-control-allow-origin')).toBeNull();
      expect(stub.calls.length).toBe(calls);
    });

    it('an unknown widget is 404 at preflight and on calls', async () => {
      const res = await fetch(`${srv.baseUrl}/widget/00000000-0000-4000-8000-000000000000/session`, {
        method: 'OPTIONS',
        headers: { origin: SHOP, 'access-control-request-method': 'POST' },
      });
      expect(res.status).toBe(404);
    });

    it('the dashboard API sends no CORS headers to anyone', async () => {
      const pre = await fetch(`${srv.baseUrl}/api/me`, {
        method: 'OPTIONS',
        headers: { origin: SHOP, 'access-control-request-method': 'GET' },
      });
      expect(pre.headers.get('access-control-allow-origin')).toBeNull();
      expect(pre.status).toBe(404);
      const me = await fetch(`${srv.baseUrl}/api/me`, {
        headers: { origin: SHOP, authorization: `Bearer ${owner.token}` },
      });
      expect(me.status).toBe(200);
      expect(me.headers.get('access-control-allow-origin')).toBeNull();
    });

    it('allowed origins are validated and stored canonically', async () => {
      for (const bad of [
        'shop.example.com',
        'https://shop.example.com/path',
        'https://shop.example.com/',
        'ftp://x.example.com',
        '*',
      ]) {
        const r = await a().patch<Err>(`${o()}/widgets/${widget.id}`, { allowedOrigins: [bad] });
        expect(r.status, bad).toBe(400);
        expect(r.body.error).toBe('validation_failed');
      }
      const r = await a().patch<Widget>(`${o()}/widgets/${widget.id}`, {
        allowedOrigins: ['HTTPS://Shop.Example.com:443', SHOP],
      });
      expect(r.status, r.text).toBe(200);
      expect(r.body.allowedOrigins).toEqual([SHOP]);
    });
  });

  describe('visitor sessions and messages', () => {
    it('answers through the provider; the model sees only the system prompt, the retrieved chunks and the message', async () => {
      const v = visitor(srv.baseUrl, widget.id, SHOP);
      const s = await v.session();
      expect(s.status, s.text).toBe(200);
      expect(s.headers.get('access-control-allow-origin')).toBe(SHOP);
      const before = stub.calls.length;
      const r = await v.message(s.body.visitorToken, 'Can I return my shoes?');
      expect(r.status, r.text).toBe(200);
      expect(r.body.reply).toMatch(/^Answer \d+$/);
      expect(r.headers.get('access-control-allow-origin')).toBe(SHOP);
      const call = stub.calls[before];
      expect(call?.headers.authorization).toBe('Bearer sk-stub-provider-key-000000');
      expect(call?.body.model).toBe('chat-model');
      expect(call?.body.messages.map((m) => m.role)).toEqual(['system', 'user']);
      expect(call?.body.messages[0]?.content).toContain('You are the Shop helper.');
      expect(call?.body.messages[0]?.content).toContain('return shoes within 30 days');
      expect(call?.body.messages[1]?.content).toBe('Can I return my shoes?');
    });

    it('redacts PII in the visitor message before the model sees it when the org redacts', async () => {
      const v = visitor(srv.baseUrl, widget.id, SHOP);
      const { visitorToken } = (await v.session()).body;
      const before = stub.calls.length;
      expect((await v.message(visitorToken, 'Mail me at jane.doe@example.com about shipping')).status).toBe(
        200,
      );
      expect(stub.calls[before]?.body.messages[1]?.content).toBe('Mail me at [EMAIL] about shipping');
    });

    it('refuses a tampered token, a token of another widget, and no token (401), without a model call', async () => {
      const other = await newOrgWithWidget();
      const v = visitor(srv.baseUrl, widget.id, SHOP);
      const { visitorToken } = (await v.session()).body;
      const foreign = (await visitor(srv.baseUrl, other.widget.id, SHOP).session()).body.visitorToken;
      const [head, payload, mac] = visitorToken.split('.') as [string, string, string];
      const flipped = `${head}.${payload}.${mac.slice(0, -2)}${mac.endsWith('AA') ? 'AB' : 'AA'}`;
      const forgedPayload = Buffer.from(
        JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), exp: 9_999_999_999 }),
      ).toString('base64url');
      const calls = stub.calls.length;
      for (const token of [flipped, `${head}.${forgedPayload}.${mac}`, foreign, '', 'wv1.e30.AAAA']) {
        const r = await v.message(token, 'hello');
        expect(r.status, token).toBe(401);
        expect(r.body.error).toBe('unauthorized');
      }
      expect(stub.calls.length).toBe(calls);
    });

    it('upstream failures are 502 and give the message back to the quota', async () => {
      const { acc, widget: w } = await newOrgWithWidget();
      await useStubProvider(srv.baseUrl, acc, stub.origin, ['chat-model', 'broken-model']);
      await a(acc).patch(`${o(acc)}/widgets/${w.id}`, { model: 'broken-model' });
      const v = visitor(srv.baseUrl, w.id, SHOP);
      const r = await v.message((await v.session()).body.visitorToken, 'hello');
      expect(r.status).toBe(502);
      expect(r.body.error).toBe('bad_gateway');
      const billing = await a(acc).get<Billing>(`${o(acc)}/billing`);
      expect(billing.body.usage.monthlyMessages).toBe(0);
    });
  });

  describe('rate limits run before any model work', () => {
    it('per IP: 429 with Retry-After after the limit; another IP still gets through', async () => {
      const { widget: w } = await newOrgWithWidget({ perIpPerMinute: 3, perWidgetPerMinute: 1000 });
      const v = visitor(srv.baseUrl, w.id, SHOP, '203.0.113.10');
      const { visitorToken } = (await v.session()).body;
      const calls = stub.calls.length;
      const codes = [];
      for (let i = 0; i < 5; i++) codes.push((await v.message(visitorToken, 'hi')).status);
      expect(codes).toEqual([200, 200, 200, 429, 429]);
      const limited = await v.message(visitorToken, 'hi');
      expect(limited.body.error).toBe('rate_limited');
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(limited.headers.get('access-control-allow-origin')).toBe(SHOP);
      expect(stub.calls.length - calls).toBe(3);
      const elsewhere = visitor(srv.baseUrl, w.id, SHOP, '203.0.113.11');
      expect((await elsewhere.message(visitorToken, 'hi')).status).toBe(200);
    });

    it('per widget: 429 once the widget limit is spent, whatever the IP', async () => {
      const { widget: w } = await newOrgWithWidget({ perIpPerMinute: 100, perWidgetPerMinute: 4 });
      const codes = [];
      for (let i = 0; i < 6; i++) {
        const v = visitor(srv.baseUrl, w.id, SHOP, `203.0.113.${20 + i}`);
        const { visitorToken } = (await v.session()).body;
        codes.push((await v.message(visitorToken, 'hi')).status);
      }
      expect(codes).toEqual([200, 200, 200, 200, 429, 429]);
    });
  });

  describe('quotas', () => {
    it('admits exactly K of 60 concurrent messages when K remain, and no more model calls than that', async () => {
      const { acc, widget: w } = await newOrgWithWidget();
      const K = 7;
      const limit = PLANS.free.monthlyMessages;
      const month = `${new Date().toISOString().slice(0, 7)}-01`;
      await srv.rampart.services.db.org(acc.orgId, (q) =>
        q.query('INSERT INTO org_usage (org_id, period, messages) VALUES ($1, $2, $3)', [
          acc.orgId,
          month,
          limit - K,
        ]),
      );
      const tokens = await Promise.all(
        Array.from({ length: 6 }, async (_, i) => {
          const v = visitor(srv.baseUrl, w.id, SHOP, `192.0.2.${i + 1}`);
          return { v, token: (await v.session()).body.visitorToken };
        }),
      );
      const calls = stub.calls.length;
      const results = await Promise.all(
        Array.from({ length: 60 }, (_, i) => {
          const { v, token } = tokens[i % tokens.length] as (typeof tokens)[number];
          return v.message(token, `question ${i}`);
        }),
      );
      const ok = results.filter((r) => r.status === 200).length;
      const refused = results.filter((r) => r.status === 429 && r.body.error === 'quota_exceeded').length;
      expect([ok, refused]).toEqual([K, 60 - K]);
      expect(stub.calls.length - calls).toBe(K);
      const billing = await a(acc).get<Billing>(`${o(acc)}/billing`);
      expect(billing.body.usage.monthlyMessages).toBe(limit);
    });

    it('widgets per plan: the free plan allows one; the next is 429 quota_exceeded', async () => {
      const r = await a().post<Err>(`${o()}/widgets`, {
        name: 'second',
        allowedOrigins: [SHOP],
        model: 'chat-model',
      });
      expect(r.status).toBe(429);
      expect(r.body.error).toBe('quota_exceeded');
      const billing = await a().get<Billing>(`${o()}/billing`);
      expect(billing.body).toMatchObject({ plan: 'free', limits: PLANS.free, usage: { widgets: 1 } });
    });
  });

  describe('documents', () => {
    it('reserves bytes with the upload; over the plan it stores nothing; deleting frees them', async () => {
      const { acc, widget: w } = await newOrgWithWidget();
      const big = 'word '.repeat(120_000); // 600 KB; the free plan holds 1 MB
      const first = await a(acc).post<{ id: string; bytes: number; chunks: number }>(
        `${o(acc)}/widgets/${w.id}/documents`,
        {
          name: 'big.txt',
          content: big,
        },
      );
      expect(first.status, first.text).toBe(201);
      expect(first.body.bytes).toBe(600_000);
      expect(first.body.chunks).toBeGreaterThan(400);
      const second = await a(acc).post<Err>(`${o(acc)}/widgets/${w.id}/documents`, {
        name: 'big2.txt',
        content: big,
      });
      expect(second.status).toBe(429);
      expect(second.body.error).toBe('quota_exceeded');
      const docs = await a(acc).get<{ documents: unknown[] }>(`${o(acc)}/widgets/${w.id}/documents`);
      expect(docs.body.documents).toHaveLength(1);
      expect((await a(acc).get<Billing>(`${o(acc)}/billing`)).body.usage.knowledgeBytes).toBe(600_000);
      expect((await a(acc).del(`${o(acc)}/widgets/${w.id}/documents/${first.body.id}`)).status).toBe(200);
      expect((await a(acc).get<Billing>(`${o(acc)}/billing`)).body.usage.knowledgeBytes).toBe(0);
      const chunks = await srv.rampart.services.db.org(acc.orgId, (q) =>
        q.query<{ n: number }>('SELECT count(*)::int AS n FROM widget_chunks WHERE widget_id = $1', [w.id]),
      );
      expect(chunks.rows[0]?.n).toBe(0);
    });

    it('a failure part-way through an upload leaves no chunks and the quota unchanged', async () => {
      const { acc, widget: w } = await newOrgWithWidget();
      const { db } = srv.rampart.services;
      const content = Array.from({ length: 20 }, (_, i) => `Paragraph ${i} ${'x'.repeat(900)}`).join('\n\n');
      await expect(
        db.org(acc.orgId, (q) =>
          ingestDocument(q, {}, acc.orgId, w.id, { name: 'crash.txt', format: 'text', content }, (seq) => {
            if (seq === 5) throw new Error('disk full (injected)');
          }),
        ),
      ).rejects.toThrow('disk full');
      expect((await a(acc).get<Billing>(`${o(acc)}/billing`)).body.usage.knowledgeBytes).toBe(0);
      const left = await db.org(acc.orgId, (q) =>
        q.query<{ d: number; c: number }>(
          `SELECT (SELECT count(*)::int FROM widget_documents WHERE widget_id = $1) AS d,
                  (SELECT count(*)::int FROM widget_chunks WHERE widget_id = $1) AS c`,
          [w.id],
        ),
      );
      expect(left.rows[0]).toEqual({ d: 0, c: 0 });
    });

    it('refuses documents over the size limit (413) and non-text content (400)', async () => {
      const big = await a().post<Err>(`${o()}/widgets/${widget.id}/documents`, {
        name: 'x',
        content: 'x'.repeat(700_001),
      });
      expect(big.status).toBe(413);
      expect(big.body.error).toBe('payload_too_large');
      const nul = await a().post<Err>(`${o()}/widgets/${widget.id}/documents`, {
        name: 'x',
        content: 'a\u0000b',
      });
      expect(nul.status).toBe(400);
    });

    it('retrieval reads punctuation as text, never as query syntax, and stems each word once', async () => {
      const v = visitor(srv.baseUrl, widget.id, SHOP);
      const { visitorToken } = (await v.session()).body;
      for (const message of [
        'Is https://shop.example.com/p/boots(red)!&x=1:* returnable?',
        "shoes') | !(x & y) :* <-> ''",
        '!!!',
      ]) {
        const r = await v.message(visitorToken, message);
        expect(r.status, `${message}: ${r.text}`).toBe(200);
      }
      const before = stub.calls.length;
      // "returning" and "returns" stem to "return" once; a second stemming pass would lose matches like this.
      expect((await v.message(visitorToken, 'returning')).status).toBe(200);
      expect(stub.calls[before]?.body.messages[0]?.content).toContain('return shoes within 30 days');
    });

    it("retrieval never returns another tenant's chunks", async () => {
      const { acc: other, widget: theirs } = await newOrgWithWidget();
      const secret = 'The zebracorn vault code is 4417';
      expect(
        (
          await a(other).post(`${o(other)}/widgets/${theirs.id}/documents`, {
            name: 'vault.txt',
            content: secret,
          })
        ).status,
      ).toBe(201);
      const v = visitor(srv.baseUrl, widget.id, SHOP);
      const before = stub.calls.length;
      expect(
        (await v.message((await v.session()).body.visitorToken, 'What is the zebracorn vault code?')).status,
      ).toBe(200);
      expect(JSON.stringify(stub.calls[before]?.body)).not.toContain('4417');
      // ...while their own widget finds it.
      const tv = visitor(srv.baseUrl, theirs.id, SHOP);
      const mark = stub.calls.length;
      expect((await tv.message((await tv.session()).body.visitorToken, 'zebracorn vault code?')).status).toBe(
        200,
      );
      expect(stub.calls[mark]?.body.messages[0]?.content).toContain('4417');
    });
  });

  it('stores visitor IPs only as HMACs: the raw address is in no table', async () => {
    const ip = '203.0.113.199';
    const v = visitor(srv.baseUrl, widget.id, SHOP, ip);
    const { visitorToken } = (await v.session()).body;
    expect((await v.message(visitorToken, 'shipping to Canada?')).status).toBe(200);
    expect(await tablesContaining(srv.rampart.services.db, ip)).toEqual([]);
    const hashes = await srv.rampart.services.db.org(owner.orgId, (q) =>
      q.query<{ ip_hash: string }>('SELECT DISTINCT ip_hash FROM widget_messages WHERE widget_id = $1', [
        widget.id,
      ]),
    );
    expect(hashes.rows.length).toBeGreaterThan(0);
    for (const r of hashes.rows) expect(r.ip_hash).toMatch(/^[0-9a-f]{64}$/);
  });
});
