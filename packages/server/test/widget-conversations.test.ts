/**
 * Widget conversations (issue 25 §3): what visitors asked is kept per visitor session, sealed (no plaintext in
 * any table, envelopes bound to their org and row), the question PII-redacted first when the org redacts;
 * owners list conversations, open a thread, delete one (audited), see the questions the widget could not
 * answer and answered messages per day; a visitor deletes their own conversation from the widget; the sweep
 * deletes conversations past the widget's retention. Every dashboard route answers 404 to another org.
 */
import { type Account, addMemberWithRole, api, signup } from '@rampart/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getThread, listConversations, sweepConversations } from '../src/widget/conversations.js';
import { tablesContaining } from './fixtures.js';
import { ENGINES, startTestServer } from './helpers.js';
import { startModelStub, useStubProvider, visitor } from './widget-support.js';

type Srv = Awaited<ReturnType<typeof startTestServer>>;
type Err = { error: string };
interface Conversation {
  id: string;
  visitorId: string;
  startedAt: string;
  lastMessageAt: string;
  messageCount: number;
  unansweredCount: number;
}
interface Thread extends Conversation {
  messages: Array<{ id: string; question: string; reply: string; redacted: boolean; grounded: boolean }>;
}

const SHOP = 'https://shop.example.com';
const ENV = { RAMPART_OUTBOUND_ALLOW: '127.0.0.1', RAMPART_TRUST_PROXY: '127.0.0.1' };
const DAY_MS = 86_400_000;

describe.each(ENGINES)('widget conversations (%s)', (engine) => {
  let srv: Srv;
  let stub: Awaited<ReturnType<typeof startModelStub>>;
  let owner: Account;
  let other: Account;
  let widgetId: string;
  let otherWidgetId: string;
  const as = (acc: Account) => api(srv.baseUrl, acc.token);
  const w = (acc: Account, id: string, rest = '') => `/api/orgs/${acc.orgId}/widgets/${id}${rest}`;

  const orgWithWidget = async (settings?: object) => {
    const acc = await signup(srv.baseUrl);
    await useStubProvider(srv.baseUrl, acc, stub.origin, ['chat-model']);
    if (settings) expect((await as(acc).patch(`/api/orgs/${acc.orgId}/settings`, settings)).status).toBe(200);
    const r = await as(acc).post<{ id: string; conversationRetentionDays: number }>(
      `/api/orgs/${acc.orgId}/widgets`,
      { name: 'help', allowedOrigins: [SHOP], model: 'chat-model' },
    );
    expect(r.status, r.text).toBe(201);
    expect(r.body.conversationRetentionDays).toBe(30);
    const doc = await as(acc).post(w(acc, r.body.id, '/documents'), {
      name: 'returns.md',
      content: 'You can return shoes within 30 days with the receipt.',
    });
    expect(doc.status, doc.text).toBe(201);
    return { acc, id: r.body.id };
  };

  /** A visitor session that sends `messages`; returns its token. */
  const chat = async (id: string, messages: string[]) => {
    const v = visitor(srv.baseUrl, id, SHOP);
    const { visitorToken } = (await v.session()).body;
    for (const m of messages) {
      const r = await v.message(visitorToken, m);
      expect(r.status, r.text).toBe(200);
    }
    return visitorToken;
  };
  const conversations = async (acc: Account, id: string) => {
    const r = await as(acc).get<{ conversations: Conversation[]; nextCursor: string | null }>(
      w(acc, id, '/conversations'),
    );
    expect(r.status, r.text).toBe(200);
    return r.body;
  };

  beforeAll(async () => {
    stub = await startModelStub();
    srv = await startTestServer(engine, ENV);
    // Redaction off for the main org, so what is stored is exactly what the visitor typed.
    ({ acc: owner, id: widgetId } = await orgWithWidget({ piiRedaction: false }));
    ({ acc: other, id: otherWidgetId } = await orgWithWidget());
  });
  afterAll(async () => {
    await srv?.close();
    await stub?.close();
  });

  it('keeps each visitor session as a conversation: newest first, counts, a thread opened from its seals', async () => {
    await chat(widgetId, ['Can I return shoes?', 'Do you sell hats?']);
    await chat(widgetId, ['What is the receipt policy for shoes?']);
    const list = await conversations(owner, widgetId);
    expect(list.conversations).toHaveLength(2);
    const [newest, older] = list.conversations as [Conversation, Conversation];
    expect(newest.lastMessageAt >= older.lastMessageAt).toBe(true);
    expect([newest.messageCount, newest.unansweredCount]).toEqual([1, 0]);
    // "hats" matches no document: the widget could not answer it.
    expect([older.messageCount, older.unansweredCount]).toEqual([2, 1]);

    const t = await as(owner).get<Thread>(w(owner, widgetId, `/conversations/${older.id}`));
    expect(t.status, t.text).toBe(200);
    expect(t.body.messages.map((m) => [m.question, m.grounded])).toEqual([
      ['Can I return shoes?', true],
      ['Do you sell hats?', false],
    ]);
    expect(t.body.messages.every((m) => /^Answer \d+$/.test(m.reply) && !m.redacted)).toBe(true);

    const un = await as(owner).get<{ questions: Array<{ question: string; conversationId: string }> }>(
      w(owner, widgetId, '/unanswered'),
    );
    expect(un.status, un.text).toBe(200);
    expect(un.body.questions.map((q) => [q.question, q.conversationId])).toEqual([
      ['Do you sell hats?', older.id],
    ]);

    const stats = await as(owner).get<{ days: Array<{ day: string; answered: number; unanswered: number }> }>(
      w(owner, widgetId, '/message-stats'),
    );
    expect(stats.status, stats.text).toBe(200);
    expect(stats.body.days).toHaveLength(30);
    expect(stats.body.days.at(-1)).toEqual({
      day: new Date().toISOString().slice(0, 10),
      answered: 2,
      unanswered: 1,
    });
  });

  it('pages conversations newest first with a cursor, and refuses a forged cursor', async () => {
    const p1 = await as(owner).get<{ conversations: Conversation[]; nextCursor: string | null }>(
      w(owner, widgetId, '/conversations?limit=1'),
    );
    expect(p1.body.conversations).toHaveLength(1);
    expect(p1.body.nextCursor).not.toBeNull();
    const p2 = await as(owner).get<{ conversations: Conversation[]; nextCursor: string | null }>(
      w(owner, widgetId, `/conversations?limit=1&cursor=${p1.body.nextCursor}`),
    );
    expect(p2.body.conversations).toHaveLength(1);
    expect(p2.body.conversations[0]?.id).not.toBe(p1.body.conversations[0]?.id);
    const bad = await as(owner).get<Err>(w(owner, widgetId, '/conversations?cursor=bm9wZQ'));
    expect([bad.status, bad.body.error]).toEqual([400, 'validation_failed']);
  });

  it('stores no message text in plaintext anywhere, and an envelope opens only in its own row', async () => {
    const order = `ZX${Date.now()}QK`;
    const secret = `Tell me about order ${order} please`;
    await chat(widgetId, [secret]);
    const db = srv.rampart.services.db;
    expect(await tablesContaining(db, secret)).toEqual([]);
    // The order number alone: long enough that random base64 in sealed columns cannot contain it by chance (a
    // two-letter probe did, and failed a CI run).
    expect(await tablesContaining(db, order)).toEqual([]);
    const raw = await db.org(owner.orgId, (q) =>
      q.query<{ id: string; question_sealed: string; reply_sealed: string }>(
        'SELECT id, question_sealed, reply_sealed FROM widget_conversation_messages WHERE org_id = $1 ORDER BY created_at',
        [owner.orgId],
      ),
    );
    expect(raw.rows.length).toBeGreaterThanOrEqual(4);
    for (const r of raw.rows) {
      expect(r.question_sealed).not.toContain('shoes');
      expect(r.reply_sealed).not.toContain('Answer');
    }
    // Swap two rows' question envelopes: neither thread opens any more (the AAD names the row).
    const [a, b] = raw.rows as [(typeof raw.rows)[0], (typeof raw.rows)[0]];
    const { conversations: list } = await db.org(owner.orgId, (q) =>
      listConversations(q, owner.orgId, widgetId, { limit: 100 }),
    );
    await db.org(owner.orgId, async (q) => {
      await q.query('UPDATE widget_conversation_messages SET question_sealed = $2 WHERE id = $1', [
        a.id,
        b.question_sealed,
      ]);
      const conv = await q.query<{ conversation_id: string }>(
        'SELECT conversation_id FROM widget_conversation_messages WHERE id = $1',
        [a.id],
      );
      await expect(
        getThread(q, srv.rampart.services.ring, owner.orgId, widgetId, conv.rows[0]?.conversation_id ?? ''),
      ).rejects.toThrow();
      await q.query('UPDATE widget_conversation_messages SET question_sealed = $2 WHERE id = $1', [
        a.id,
        a.question_sealed,
      ]);
    });
    expect(list.length).toBeGreaterThanOrEqual(3);
  });

  it('stores the question PII-redacted when the org redacts (the reply too is sealed)', async () => {
    await chat(otherWidgetId, ['Mail me at jane.doe@example.com about returns of shoes']);
    const { conversations: list } = await conversations(other, otherWidgetId);
    const t = await as(other).get<Thread>(w(other, otherWidgetId, `/conversations/${list[0]?.id}`));
    expect(t.body.messages[0]?.question).toBe('Mail me at [EMAIL] about returns of shoes');
    expect(t.body.messages[0]?.redacted).toBe(true);
    expect(await tablesContaining(srv.rampart.services.db, 'jane.doe@example.com')).toEqual([]);
  });

  it("answers 404 to another org's widget or conversation on every route", async () => {
    const { conversations: list } = await conversations(owner, widgetId);
    const conv = list[0]?.id ?? '';
    // The other org's owner, on their own org's path, naming this org's widget and conversation.
    for (const [method, path] of [
      ['GET', w(other, widgetId, '/conversations')],
      ['GET', w(other, widgetId, `/conversations/${conv}`)],
      ['DELETE', w(other, widgetId, `/conversations/${conv}`)],
      ['GET', w(other, otherWidgetId, `/conversations/${conv}`)],
      ['DELETE', w(other, otherWidgetId, `/conversations/${conv}`)],
      ['GET', w(other, widgetId, '/unanswered')],
      ['GET', w(other, widgetId, '/message-stats')],
    ] as const) {
      const r = await as(other).request<Err>(method, path);
      expect([r.status, r.body.error], `${method} ${path}`).toEqual([404, 'not_found']);
      expect(r.text).not.toContain('shoes');
    }
    // And on this org's path with the other org's token: refused before anything is read.
    const r = await as(other).get<Err>(w(owner, widgetId, '/conversations'));
    expect([403, 404]).toContain(r.status);
    expect((await conversations(owner, widgetId)).conversations.map((c) => c.id)).toContain(conv);
  });

  it('the owner deletes a conversation: its messages go, the deletion is audited without text', async () => {
    const before = (await conversations(owner, widgetId)).conversations;
    const target = before[0] as Conversation;
    const del = await as(owner).del(w(owner, widgetId, `/conversations/${target.id}`));
    expect(del.status, del.text).toBe(200);
    const after = (await conversations(owner, widgetId)).conversations;
    expect(after.map((c) => c.id)).not.toContain(target.id);
    const again = await as(owner).del<Err>(w(owner, widgetId, `/conversations/${target.id}`));
    expect([again.status, again.body.error]).toEqual([404, 'not_found']);
    const left = await srv.rampart.services.db.org(owner.orgId, (q) =>
      q.query('SELECT 1 FROM widget_conversation_messages WHERE conversation_id = $1', [target.id]),
    );
    expect(left.rows).toEqual([]);
    const audit = await as(owner).get<{ entries: Array<{ action: string; meta: unknown }> }>(
      `/api/orgs/${owner.orgId}/audit?limit=50`,
    );
    const entry = audit.body.entries.find((e) => e.action === 'widget.conversation_deleted');
    expect(entry?.meta).toEqual({ conversationId: target.id, messages: target.messageCount });
  });

  it('a visitor deletes their own conversation from the widget (CORS preflight allows DELETE), no one else’s', async () => {
    const mine = await chat(widgetId, ['Can I return shoes after a week?']);
    const theirs = await chat(widgetId, ['Can I return shoes after two weeks?']);
    const count = async () => (await conversations(owner, widgetId)).conversations.length;
    const before = await count();

    const pre = await fetch(`${srv.baseUrl}/widget/${widgetId}/conversation`, {
      method: 'OPTIONS',
      headers: { origin: SHOP, 'access-control-request-method': 'DELETE' },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe(SHOP);
    expect(pre.headers.get('access-control-allow-methods')).toBe('DELETE');
    const evil = await fetch(`${srv.baseUrl}/widget/${widgetId}/conversation`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example.com', 'access-control-request-method': 'DELETE' },
    });
    expect(evil.status).toBe(403);
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();

    const del = (token: string, origin = SHOP) =>
      api(srv.baseUrl, token).request<{ ok: boolean; deleted: boolean; error?: string }>(
        'DELETE',
        `/widget/${widgetId}/conversation`,
        undefined,
        { origin, 'x-forwarded-for': '198.51.100.7' },
      );
    expect((await del(mine, 'https://evil.example.com')).status).toBe(403);
    expect((await del('wv1.bogus.token')).status).toBe(401);
    const ok = await del(mine);
    expect([ok.status, ok.body.deleted], ok.text).toEqual([200, true]);
    expect(ok.headers.get('access-control-allow-origin')).toBe(SHOP);
    expect(await count()).toBe(before - 1);
    expect((await del(mine)).body.deleted).toBe(false);
    // A visitor token of another widget names no conversation here.
    const foreign = (await visitor(srv.baseUrl, otherWidgetId, SHOP).session()).body.visitorToken;
    expect((await del(foreign)).status).toBe(401);
    expect(await count()).toBe(before - 1);
    expect(theirs).not.toBe(mine);
  });

  it('conversationRetentionDays: validated 1..365; the sweep deletes conversations past it, and only those', async () => {
    for (const bad of [0, 366, 1.5]) {
      const r = await as(owner).patch<Err>(w(owner, widgetId), { conversationRetentionDays: bad });
      expect([r.status, r.body.error], String(bad)).toEqual([400, 'validation_failed']);
    }
    const set = await as(owner).patch<{ conversationRetentionDays: number }>(w(owner, widgetId), {
      conversationRetentionDays: 2,
    });
    expect(set.body.conversationRetentionDays).toBe(2);
    const db = srv.rampart.services.db;
    const mine = (await conversations(owner, widgetId)).conversations.length;
    const theirs = (await conversations(other, otherWidgetId)).conversations.length;
    expect(mine).toBeGreaterThan(0);
    // One day later nothing is due; three days later this widget's are, the other widget (30 days) keeps its.
    expect(await sweepConversations(db, new Date(Date.now() + DAY_MS))).toBe(0);
    expect(await sweepConversations(db, new Date(Date.now() + 3 * DAY_MS))).toBe(mine);
    expect((await conversations(owner, widgetId)).conversations).toEqual([]);
    expect((await conversations(other, otherWidgetId)).conversations).toHaveLength(theirs);
    const orphans = await db.org(owner.orgId, (q) =>
      q.query('SELECT 1 FROM widget_conversation_messages WHERE widget_id = $1', [widgetId]),
    );
    expect(orphans.rows).toEqual([]);
    // The daily counts come from the metadata rows: sweeping conversations leaves them.
    const stats = await as(owner).get<{ days: Array<{ answered: number }> }>(
      w(owner, widgetId, '/message-stats'),
    );
    expect(stats.body.days.at(-1)?.answered).toBeGreaterThan(0);
  });

  it('a viewer reads conversations but cannot delete them', async () => {
    const viewer = await addMemberWithRole(srv, other.token, other.orgId, 'viewer');
    const { conversations: list } = await conversations(other, otherWidgetId);
    const v = api(srv.baseUrl, viewer.token);
    expect((await v.get(w(other, otherWidgetId, '/conversations'))).status).toBe(200);
    expect((await v.get(w(other, otherWidgetId, `/conversations/${list[0]?.id}`))).status).toBe(200);
    const del = await v.del<Err>(w(other, otherWidgetId, `/conversations/${list[0]?.id}`));
    expect([del.status, del.body.error]).toEqual([403, 'forbidden']);
  });
});
