/**
 * LLM gateway through the official `openai` client: redaction before the upstream sees a request, per-key
 * overrides, data residency, timeouts, streaming, disconnects, usage audit without text, sealed provider keys.
 * The upstream is a local stub speaking OpenAI's wire format (JSON and SSE).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, startTestServer, type TestServer } from './helpers.js';

interface Seen {
  headers: IncomingMessage['headers'];
  body: { model: string; messages: Array<{ role: string; content: unknown }>; stream?: boolean };
  closedEarly: boolean;
}

const UPSTREAM_KEY = 'sk-upstream-PLAINTEXT-0123456789abcdef';
const PII = 'Mail bob.smith@example.com or call (415) 555-0134; card 4111 1111 1111 1111; SSN 123-45-6789.';

function startUpstream(): Promise<{ server: Server; port: number; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => {
      raw += c;
    });
    req.on('end', () => {
      const body = JSON.parse(raw) as Seen['body'];
      const entry: Seen = { headers: req.headers, body, closedEarly: false };
      seen.push(entry);
      res.on('close', () => {
        if (!res.writableFinished) entry.closedEarly = true;
      });
      const delay = body.model === 'slow' ? 2_000 : body.model === 'o-reason' ? 450 : 0;
      const echo = JSON.stringify(body.messages.at(-1)?.content ?? '');
      const usage =
        body.model === 'weird-usage'
          ? { prompt_tokens: 'lots', completion_tokens: -3, total_tokens: { token: 'x'.repeat(9_000) } }
          : { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 };
      setTimeout(() => {
        if (res.destroyed) return;
        if (body.stream) {
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          const chunk = (content: string, extra: object = {}) =>
            `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: body.model, choices: [{ index: 0, delta: { content }, finish_reason: null }], ...extra })}\n\n`;
          const parts = ['Hel', 'lo', ' there'];
          let i = 0;
          const tick = () => {
            if (res.destroyed) return;
            if (i < parts.length) {
              res.write(chunk(parts[i++] as string));
              setTimeout(tick, body.model === 'drip' ? 300 : 5);
            } else {
              res.write(
                `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: body.model, choices: [], usage })}\n\n`,
              );
              res.end('data: [DONE]\n\n');
            }
          };
          tick();
        } else {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(
            JSON.stringify({
              id: 'chatcmpl-1',
              object: 'chat.completion',
              created: 1,
              model: body.model,
              choices: [
                { index: 0, message: { role: 'assistant', content: `echo:${echo}` }, finish_reason: 'stop' },
              ],
              usage,
            }),
          );
        }
      }, delay);
    });
  });
  return new Promise((r) =>
    server.listen(0, '127.0.0.1', () => r({ server, port: (server.address() as AddressInfo).port, seen })),
  );
}

describe.each(ENGINES)('LLM gateway (%s)', (engine) => {
  let srv: TestServer;
  let up: Awaited<ReturnType<typeof startUpstream>>;
  let session: string;
  let orgId: string;
  const keys: Record<string, string> = {};

  const api = async (method: string, path: string, body?: unknown) => {
    const r = await fetch(`${srv.baseUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${session}`,
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return { status: r.status, body: (await r.json()) as Record<string, unknown> };
  };
  const client = (name: string) =>
    new OpenAI({ apiKey: keys[name] as string, baseURL: `${srv.baseUrl}/v1`, maxRetries: 0 });
  const lastSeen = () => up.seen.at(-1) as Seen;

  beforeAll(async () => {
    up = await startUpstream();
    srv = await startTestServer(engine, {
      RAMPART_OUTBOUND_ALLOW: '127.0.0.1',
      RAMPART_GATEWAY_TIMEOUT_MS: '300',
      RAMPART_GATEWAY_REASONING_TIMEOUT_MS: '1500',
    });
    const s = await fetch(`${srv.baseUrl}/api/auth/signup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        email: `gw-${engine}@example.com`,
        password: 'gateway password 1',
        orgName: 'Gateway Org',
      }),
    });
    ({ token: session, orgId } = (await s.json()) as { token: string; orgId: string });
    const put = await api('PUT', `/api/orgs/${orgId}/providers/stub`, {
      baseUrl: `http://127.0.0.1:${up.port}/v1`,
      apiKey: UPSTREAM_KEY,
      region: 'us',
      models: ['gpt-test', 'o-reason', 'slow', 'drip', 'weird-usage'],
      reasoningModels: ['o-reason'],
    });
    expect(put.status).toBe(200);
    for (const [name, extra] of Object.entries({
      inherit: {},
      off: { redaction: 'off' },
      on: { redaction: 'on' },
      eu: { region: 'eu' },
    })) {
      const k = await api('POST', `/api/orgs/${orgId}/api-keys`, { name, ...extra });
      keys[name] = k.body.key as string;
    }
  });
  afterAll(async () => {
    await srv?.close();
    up?.server.closeAllConnections();
    await new Promise((r) => up?.server.close(r));
  });

  it('non-streaming: the official client works and the upstream sees redacted content and the sealed key', async () => {
    const r = await client('inherit').chat.completions.create({
      model: 'gpt-test',
      messages: [{ role: 'user', content: PII }],
    });
    expect(r.choices[0]?.message.content).toMatch(/^echo:/);
    const seen = lastSeen();
    expect(seen.headers.authorization).toBe(`Bearer ${UPSTREAM_KEY}`);
    const sent = String(seen.body.messages[0]?.content);
    expect(sent).toBe('Mail [EMAIL] or call [PHONE]; card [CREDIT_CARD]; SSN [SSN].');
    expect(r.usage?.total_tokens).toBe(18);
  });

  it('streaming: chunks arrive through the client, redacted upstream, usage recorded', async () => {
    const stream = await client('inherit').chat.completions.create({
      model: 'gpt-test',
      stream: true,
      stream_options: { include_usage: true },
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: [{ type: 'text', text: PII }] },
      ],
    });
    let text = '';
    for await (const c of stream) text += c.choices[0]?.delta?.content ?? '';
    expect(text).toBe('Hello there');
    const parts = lastSeen().body.messages[1]?.content as Array<{ text: string }>;
    expect(parts[0]?.text).toContain('[EMAIL]');
    expect(JSON.stringify(lastSeen().body)).not.toContain('bob.smith');
  });

  it('a key with redaction off sends raw content; a key with redaction on redacts even when the org turns it off', async () => {
    await client('off').chat.completions.create({
      model: 'gpt-test',
      messages: [{ role: 'user', content: PII }],
    });
    expect(lastSeen().body.messages[0]?.content).toBe(PII);
    expect((await api('PATCH', `/api/orgs/${orgId}/settings`, { piiRedaction: false })).status).toBe(200);
    await client('inherit').chat.completions.create({
      model: 'gpt-test',
      messages: [{ role: 'user', content: PII }],
    });
    expect(lastSeen().body.messages[0]?.content).toBe(PII);
    await client('on').chat.completions.create({
      model: 'gpt-test',
      messages: [{ role: 'user', content: PII }],
    });
    expect(lastSeen().body.messages[0]?.content).not.toContain('bob.smith');
    expect((await api('PATCH', `/api/orgs/${orgId}/settings`, { piiRedaction: true })).status).toBe(200);
  });

  it('GET /v1/models lists the models of providers in the key region', async () => {
    const ids: string[] = [];
    for await (const m of client('inherit').models.list()) ids.push(m.id);
    expect(ids).toEqual(['gpt-test', 'o-reason', 'slow', 'drip', 'weird-usage']);
    const eu: string[] = [];
    for await (const m of client('eu').models.list()) eu.push(m.id);
    expect(eu).toEqual([]);
  });

  it('data residency: an eu key is never routed to a us provider (403 region_not_allowed)', async () => {
    const before = up.seen.length;
    const err = await client('eu')
      .chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect((err as { error: unknown }).error).toBe('region_not_allowed');
    expect(up.seen.length).toBe(before);
  });

  it('an unknown model is 404; a malformed body is 400 validation_failed', async () => {
    const err = await client('inherit')
      .chat.completions.create({ model: 'nope', messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    const r = await fetch(`${srv.baseUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${keys.inherit}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-test', messages: [] }),
    });
    expect(r.status).toBe(400);
    expect(((await r.json()) as { error: string }).error).toBe('validation_failed');
  });

  it('times out at the model timeout with 504 upstream_timeout; reasoning models get the longer one', async () => {
    const err = await client('inherit')
      .chat.completions.create({ model: 'slow', messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    expect((err as { status: number }).status).toBe(504);
    expect((err as { error: unknown }).error).toBe('upstream_timeout');
    // o-reason takes 450 ms upstream: past the 300 ms default, within the 1.5 s reasoning timeout.
    const ok = await client('inherit').chat.completions.create({
      model: 'o-reason',
      messages: [{ role: 'user', content: 'x' }],
    });
    expect(ok.choices[0]?.message.content).toMatch(/^echo:/);
  });

  it('a client that disconnects mid-stream aborts the upstream request', async () => {
    const controller = new AbortController();
    const stream = await client('inherit').chat.completions.create(
      { model: 'drip', stream: true, messages: [{ role: 'user', content: 'x' }] },
      { signal: controller.signal },
    );
    const it = stream[Symbol.asyncIterator]();
    await it.next();
    controller.abort();
    await it.next().catch(() => undefined);
    const seen = lastSeen();
    for (let i = 0; i < 50 && !seen.closedEarly; i++) await new Promise((r) => setTimeout(r, 20));
    expect(seen.closedEarly).toBe(true);
  });

  it('audits usage per call (key, model, region, status, tokens, latency) and never the text', async () => {
    await client('inherit').chat.completions.create({
      model: 'gpt-test',
      messages: [{ role: 'user', content: 'secret prompt words xyzzy' }],
    });
    await new Promise((r) => setTimeout(r, 200)); // the audit append runs after the response
    const audit = await api('GET', `/api/orgs/${orgId}/audit?action=llm.completion&limit=500`);
    const entries = audit.body.entries as Array<{ apiKeyId: string; meta: Record<string, unknown> }>;
    expect(entries.length).toBeGreaterThanOrEqual(5);
    const last = entries.at(-1) as { apiKeyId: string; meta: Record<string, unknown> };
    expect(last.apiKeyId).toMatch(/^[0-9a-f-]{36}$/);
    expect(last.meta).toMatchObject({
      model: 'gpt-test',
      region: 'us',
      status: 200,
      usage: { prompt: 11, completion: 7, total: 18 },
    });
    expect(typeof last.meta.latencyMs).toBe('number');
    const everything = JSON.stringify(audit.body) + srv.logs.join('');
    for (const needle of ['xyzzy', 'bob.smith', '4111 1111', UPSTREAM_KEY])
      expect(everything).not.toContain(needle);
  });

  it('hostile usage numbers from the upstream are dropped, and the usage row still lands', async () => {
    await client('inherit').chat.completions.create({
      model: 'weird-usage',
      messages: [{ role: 'user', content: 'x' }],
    });
    await srv.rampart.services.usageAudit.flush();
    const audit = await api('GET', `/api/orgs/${orgId}/audit?action=llm.completion&limit=500`);
    const rows = (audit.body.entries as Array<{ meta: Record<string, unknown> }>).filter(
      (e) => e.meta.model === 'weird-usage',
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]?.meta.usage).toEqual({ prompt: null, completion: null, total: null });
  });

  it('the provider key is sealed at rest and masked on read', async () => {
    const list = await api('GET', `/api/orgs/${orgId}/providers`);
    expect(JSON.stringify(list.body)).not.toContain(UPSTREAM_KEY);
    expect((list.body.providers as Array<{ apiKeyMasked: string }>)[0]?.apiKeyMasked).toBe('sk-...cdef');
    const { rows } = await srv.rampart.services.db.owner((q) => q.query('SELECT * FROM llm_providers'));
    expect(JSON.stringify(rows)).not.toContain(UPSTREAM_KEY);
  });

  it('the outbound guard: a literal non-public base URL is refused at save time, a blocked address at connect time', async () => {
    const bad = await api('PUT', `/api/orgs/${orgId}/providers/meta`, {
      baseUrl: 'http://169.254.169.254/v1',
      apiKey: 'x',
      models: ['m1'],
    });
    expect(bad.status).toBe(400);
    // A row whose address is no longer allowed (saved before the allow-list changed): refused at connect time.
    const put = await api('PUT', `/api/orgs/${orgId}/providers/looped`, {
      baseUrl: `http://127.0.0.1:${up.port}/v1`,
      apiKey: 'sk-other-0000000000',
      models: ['blocked-model'],
    });
    expect(put.status).toBe(200);
    await srv.rampart.services.db.owner((q) =>
      q.query(`UPDATE llm_providers SET base_url = $1 WHERE name = 'looped'`, [
        `http://127.0.0.2:${up.port}/v1`,
      ]),
    );
    const before = up.seen.length;
    const err = await client('inherit')
      .chat.completions.create({ model: 'blocked-model', messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    expect((err as { status: number }).status).toBe(502);
    expect(up.seen.length).toBe(before);
    await api('DELETE', `/api/orgs/${orgId}/providers/looped`);
  });

  it('a provider change is seen by the very next call (the routing cache is dropped on this node)', async () => {
    await client('inherit').chat.completions.create({
      model: 'gpt-test',
      messages: [{ role: 'user', content: 'warm' }],
    });
    const moved = await api('PUT', `/api/orgs/${orgId}/providers/stub`, {
      baseUrl: `http://127.0.0.1:${up.port}/v1`,
      apiKey: UPSTREAM_KEY,
      region: 'eu',
      models: ['gpt-test', 'o-reason', 'slow', 'drip'],
      reasoningModels: ['o-reason'],
    });
    expect(moved.status).toBe(200);
    const err = await client('inherit')
      .chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    expect((err as { status: number }).status).toBe(403);
    const back = await api('PUT', `/api/orgs/${orgId}/providers/stub`, {
      baseUrl: `http://127.0.0.1:${up.port}/v1`,
      apiKey: UPSTREAM_KEY,
      region: 'us',
      models: ['gpt-test', 'o-reason', 'slow', 'drip'],
      reasoningModels: ['o-reason'],
    });
    expect(back.status).toBe(200);
    expect(
      (
        await client('inherit').chat.completions.create({
          model: 'gpt-test',
          messages: [{ role: 'user', content: 'x' }],
        })
      ).choices,
    ).toHaveLength(1);
  });

  it('dashboard sessions cannot call the gateway, API keys cannot manage providers', async () => {
    const r = await fetch(`${srv.baseUrl}/v1/models`, { headers: { authorization: `Bearer ${session}` } });
    expect(r.status).toBe(401);
    const p = await fetch(`${srv.baseUrl}/api/orgs/${orgId}/providers`, {
      headers: { authorization: `Bearer ${keys.inherit}` },
    });
    expect(p.status).toBe(401);
  });
});
