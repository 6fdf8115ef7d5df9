/**
 * Fallback and retries (issue 24 §3), through the official `openai` and `@anthropic-ai/sdk` clients with their own
 * retries off (maxRetries: 0): local stub upstreams that fail in each way, counting their hits. On a 429, a 5xx or
 * a connection error before any byte reached the client, the gateway tries the same provider exactly once more,
 * then the next one in the list; never after a stream has begun; never on another 4xx. The lists are checked on
 * save (providers of the org, in the region, serving the model, of one kind) and the usage audit names the
 * provider that answered and every attempt, never the prompt or a key.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Anthropic from '@anthropic-ai/sdk';
import { api as sessionApi, signup } from '@rampart/testing';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers.js';

type Mode =
  | 'ok'
  | '429-once'
  | '429'
  | '500'
  | '400'
  | 'destroy'
  | 'headers-then-destroy'
  | 'cut-stream'
  | 'hang';

interface Stub {
  name: string;
  server: Server;
  port: number;
  mode: Mode;
  /** Sent with 429 answers. */
  retryAfter: string | null;
  hits: number;
  /** When each request arrived (ms since epoch). */
  at: number[];
  /** The API keys the stub was sent (each provider has its own). */
  keys: string[];
}

const STUBS = ['a', 'b', 'c', 'x', 'y', 'euro'] as const;
type StubName = (typeof STUBS)[number];

const PROMPT = 'the secret prompt words plugh';
const keyOf = (name: string) => `sk-${name}-UPSTREAM-0123456789abcdef`;

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

/** A stub speaking OpenAI's chat and embeddings and Anthropic's messages; its mode says how it fails. */
function startStub(name: string): Promise<Stub> {
  const stub = { name, mode: 'ok', retryAfter: null, hits: 0, at: [], keys: [] } as unknown as Stub;
  stub.server = createServer((req: IncomingMessage, res) => {
    let raw = '';
    req.on('data', (c) => {
      raw += c;
    });
    req.on('end', () => {
      stub.hits++;
      stub.at.push(Date.now());
      stub.keys.push(String(req.headers.authorization ?? req.headers['x-api-key']));
      const body = JSON.parse(raw) as { model: string; stream?: boolean };
      const text = `from:${name}`;
      const mode = stub.mode === '429-once' ? (stub.hits === 1 ? '429' : 'ok') : stub.mode;
      if (mode === 'hang') return;
      if (mode === 'destroy') return void req.socket.destroy();
      if (mode === 'headers-then-destroy') {
        // The status line and headers, then the connection closes before the first body byte.
        res.writeHead(200, { 'content-type': body.stream ? 'text/event-stream' : 'application/json' });
        res.flushHeaders();
        return void setTimeout(() => req.socket.destroy(), 20);
      }
      if (mode === '429')
        return send(
          res,
          429,
          {
            error: {
              message: `Rate limit reached on ${name}`,
              type: 'requests',
              code: 'rate_limit_exceeded',
            },
          },
          stub.retryAfter ? { 'retry-after': stub.retryAfter } : {},
        );
      if (mode === '500')
        return send(res, 500, { error: { message: `${name} is broken`, type: 'server_error', code: null } });
      if (mode === '400')
        return send(res, 400, {
          error: { message: `${name} says the request is bad`, type: 'invalid_request_error', code: 'bad' },
        });
      if (req.url === '/v1/embeddings')
        return send(res, 200, {
          object: 'list',
          data: [{ object: 'embedding', index: 0, embedding: [name.length, 0.5] }],
          model: body.model,
          usage: { prompt_tokens: 2, total_tokens: 2 },
        });
      if (req.url === '/v1/messages' && body.stream) {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        const event = (type: string, data: object) =>
          res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
        event('message_start', {
          message: {
            id: 'msg_1',
            type: 'message',
            role: 'assistant',
            model: body.model,
            content: [],
            stop_reason: null,
            stop_sequence: null,
            usage: { input_tokens: 3, output_tokens: 0 },
          },
        });
        event('content_block_start', { index: 0, content_block: { type: 'text', text: '' } });
        event('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'part one ' } });
        if (mode === 'cut-stream') return void setTimeout(() => req.socket.destroy(), 50);
        event('content_block_delta', { index: 0, delta: { type: 'text_delta', text } });
        event('content_block_stop', { index: 0 });
        event('message_delta', {
          delta: { stop_reason: 'end_turn', stop_sequence: null },
          usage: { output_tokens: 2 },
        });
        event('message_stop', {});
        return void res.end();
      }
      if (req.url === '/v1/messages')
        return send(res, 200, {
          id: 'msg_1',
          type: 'message',
          role: 'assistant',
          model: body.model,
          content: [{ type: 'text', text }],
          stop_reason: 'end_turn',
          stop_sequence: null,
          usage: { input_tokens: 3, output_tokens: 2 },
        });
      if (!body.stream)
        return send(res, 200, {
          id: 'chatcmpl-1',
          object: 'chat.completion',
          created: 1,
          model: body.model,
          choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }],
          usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
        });
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const chunk = (delta: object, finish: string | null = null) =>
        `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: body.model, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
      res.write(chunk({ role: 'assistant', content: 'part one ' }));
      if (mode === 'cut-stream') return void setTimeout(() => req.socket.destroy(), 50);
      res.write(chunk({ content: text }));
      res.write(chunk({}, 'stop'));
      res.end('data: [DONE]\n\n');
    });
  });
  return new Promise((r) =>
    stub.server.listen(0, '127.0.0.1', () => {
      stub.port = (stub.server.address() as AddressInfo).port;
      r(stub);
    }),
  );
}

/** A loopback port nothing listens on: connections are refused. */
async function deadPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

interface AuditEntry {
  apiKeyId: string;
  meta: {
    provider: string;
    status: number;
    attempts: Array<{ provider: string; status?: number; error?: string }>;
  };
}

/**
 * One engine: this suite tests retries, fallbacks and upstream failures, the same code whatever the database. The SQL it
 * touches (providers, keys, settings, usage and audit rows) is tested on both engines by gateway.test.ts,
 * gateway-usage.test.ts, gateway-limits.test.ts and the tenancy suites. PGlite: there in every environment.
 */
describe.each(['pglite' as const])('gateway fallback and retries (%s)', (engine) => {
  let srv: TestServer;
  let session: string;
  let orgId: string;
  const stubs = {} as Record<StubName, Stub>;
  const keys: Record<string, string> = {};
  let dead: number;

  const api = (method: string, path: string, body?: unknown) =>
    sessionApi(srv.baseUrl, session).request(method, path, body);
  const client = (key = 'main') =>
    new OpenAI({ apiKey: keys[key] as string, baseURL: `${srv.baseUrl}/v1`, maxRetries: 0 });
  const chat = (model = 'm', key = 'main') =>
    client(key).chat.completions.create({ model, messages: [{ role: 'user', content: PROMPT }] });
  const hits = () => Object.fromEntries(Object.entries(stubs).map(([n, s]) => [n, s.hits]));
  const lastAudit = async (action = 'llm.completion'): Promise<AuditEntry> => {
    await srv.rampart.services.usageAudit.flush();
    const r = await api('GET', `/api/orgs/${orgId}/audit?action=${action}&limit=500`);
    return (r.body.entries as AuditEntry[]).at(-1) as AuditEntry;
  };
  const provider = (name: string, region: string, models: string[], kind = 'openai', port?: number) =>
    api('PUT', `/api/orgs/${orgId}/providers/${name}`, {
      kind,
      baseUrl: `http://127.0.0.1:${port ?? stubs[name as StubName]?.port}${kind === 'openai' ? '/v1' : ''}`,
      apiKey: keyOf(name),
      region,
      models,
    });

  beforeAll(async () => {
    for (const n of STUBS) stubs[n] = await startStub(n);
    dead = await deadPort();
    srv = await startTestServer(engine, {
      RAMPART_OUTBOUND_ALLOW: '127.0.0.1',
      RAMPART_GATEWAY_TIMEOUT_MS: '2500',
    });
    ({ token: session, orgId } = await signup(srv.baseUrl, { orgName: 'Fallback Org' }));
    for (const [name, region, models, kind] of [
      ['a', 'us', ['m', 'm-dead', 'emb'], 'openai'],
      ['b', 'us', ['m', 'm-dead', 'emb', 'only-b'], 'openai'],
      ['c', 'us', ['m'], 'openai'],
      ['x', 'us', ['claude-m'], 'anthropic'],
      ['y', 'us', ['claude-m', 'm'], 'anthropic'],
      ['euro', 'eu', ['m'], 'openai'],
    ] as const)
      expect((await provider(name, region, [...models], kind)).status).toBe(200);
    expect((await provider('dead', 'us', ['m-dead'], 'openai', dead)).status).toBe(200);
    const set = await api('PATCH', `/api/orgs/${orgId}/settings`, {
      fallbacks: { m: ['a', 'b'], 'm-dead': ['dead', 'b'], emb: ['a', 'b'], 'claude-m': ['x', 'y'] },
    });
    expect(set.status).toBe(200);
    expect(set.body.fallbacks).toEqual({
      m: ['a', 'b'],
      'm-dead': ['dead', 'b'],
      emb: ['a', 'b'],
      'claude-m': ['x', 'y'],
    });
    const k = await api('POST', `/api/orgs/${orgId}/api-keys`, { name: 'main' });
    keys.main = k.body.key as string;
  });
  beforeEach(() => {
    for (const s of Object.values(stubs)) {
      s.mode = 'ok';
      s.retryAfter = null;
      s.hits = 0;
      s.at = [];
      s.keys = [];
    }
  });
  afterAll(async () => {
    await srv?.close();
    for (const s of Object.values(stubs)) {
      s.server.closeAllConnections();
      await new Promise((r) => s.server.close(r));
    }
  });

  it('no failure: the first provider of the list answers, one attempt, audited', async () => {
    const r = await chat();
    expect(r.choices[0]?.message.content).toBe('from:a');
    expect(hits()).toMatchObject({ a: 1, b: 0 });
    const row = await lastAudit();
    expect(row.meta).toMatchObject({
      provider: 'a',
      status: 200,
      attempts: [{ provider: 'a', status: 200 }],
    });
  });

  it('429 then OK: retried once on the same provider after a jittered pause; the next is not called', async () => {
    stubs.a.mode = '429-once';
    const r = await chat();
    expect(r.choices[0]?.message.content).toBe('from:a');
    expect(hits()).toMatchObject({ a: 2, b: 0 });
    const pause = (stubs.a.at[1] as number) - (stubs.a.at[0] as number);
    expect(pause).toBeGreaterThanOrEqual(90);
    expect(pause).toBeLessThan(1_000);
    expect((await lastAudit()).meta).toMatchObject({
      provider: 'a',
      status: 200,
      attempts: [
        { provider: 'a', status: 429 },
        { provider: 'a', status: 200 },
      ],
    });
  });

  it('a short Retry-After is honoured; a long one skips the retry and goes to the next provider at once', async () => {
    stubs.a.mode = '429-once';
    stubs.a.retryAfter = '1';
    expect((await chat()).choices[0]?.message.content).toBe('from:a');
    expect((stubs.a.at[1] as number) - (stubs.a.at[0] as number)).toBeGreaterThanOrEqual(950);

    stubs.a.hits = 0;
    stubs.a.retryAfter = '30';
    const started = Date.now();
    expect((await chat()).choices[0]?.message.content).toBe('from:b');
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(hits()).toMatchObject({ a: 1, b: 1 });
  });

  it('500 twice: exactly one retry on the provider, then the next provider answers', async () => {
    stubs.a.mode = '500';
    const r = await chat();
    expect(r.choices[0]?.message.content).toBe('from:b');
    expect(hits()).toMatchObject({ a: 2, b: 1, c: 0 });
    // Each provider got its own key, never another's.
    expect(stubs.a.keys).toEqual([`Bearer ${keyOf('a')}`, `Bearer ${keyOf('a')}`]);
    expect(stubs.b.keys).toEqual([`Bearer ${keyOf('b')}`]);
    expect((await lastAudit()).meta).toMatchObject({
      provider: 'b',
      status: 200,
      attempts: [
        { provider: 'a', status: 500 },
        { provider: 'a', status: 500 },
        { provider: 'b', status: 200 },
      ],
    });
  });

  it('connection refused: retried once, then the next provider', async () => {
    const r = await chat('m-dead');
    expect(r.choices[0]?.message.content).toBe('from:b');
    expect(hits()).toMatchObject({ b: 1 });
    expect((await lastAudit()).meta).toMatchObject({
      provider: 'b',
      status: 200,
      attempts: [
        { provider: 'dead', error: 'connect' },
        { provider: 'dead', error: 'connect' },
        { provider: 'b', status: 200 },
      ],
    });
  });

  it('a socket destroyed before the headers, or after them but before the first byte: the next provider', async () => {
    for (const mode of ['destroy', 'headers-then-destroy'] as const) {
      stubs.a.mode = mode;
      stubs.a.hits = 0;
      stubs.b.hits = 0;
      const r = await chat();
      expect(r.choices[0]?.message.content).toBe('from:b');
      expect(hits()).toMatchObject({ a: 2, b: 1 });
      const row = await lastAudit();
      expect(row.meta.provider).toBe('b');
      expect(row.meta.attempts.map((x) => x.error ?? x.status)).toEqual(['connect', 'connect', 200]);
    }
    // Streamed too: nothing had reached the client, so the switch is allowed.
    stubs.a.mode = 'headers-then-destroy';
    stubs.a.hits = 0;
    stubs.b.hits = 0;
    let text = '';
    for await (const c of await client().chat.completions.create({
      model: 'm',
      stream: true,
      messages: [{ role: 'user', content: PROMPT }],
    }))
      text += c.choices[0]?.delta.content ?? '';
    expect(text).toBe('part one from:b');
    expect(hits()).toMatchObject({ a: 2, b: 1 });
  });

  it('a stream cut after bytes reached the client: no switch, the client sees the cut, audited as 502', async () => {
    stubs.a.mode = 'cut-stream';
    const stream = await client().chat.completions.create({
      model: 'm',
      stream: true,
      messages: [{ role: 'user', content: PROMPT }],
    });
    let text = '';
    const err = await (async () => {
      for await (const c of stream) text += c.choices[0]?.delta.content ?? '';
    })().catch((e: unknown) => e);
    expect(text).toBe('part one ');
    expect(err).toBeInstanceOf(Error);
    expect(hits()).toMatchObject({ a: 1, b: 0 });
    expect((await lastAudit()).meta).toMatchObject({
      provider: 'a',
      status: 502,
      attempts: [{ provider: 'a', status: 200 }],
    });
  });

  it('a 400 is not retried and not switched: it passes through as the provider sent it', async () => {
    stubs.a.mode = '400';
    const err = await chat().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as Error).message).toContain('a says the request is bad');
    expect(hits()).toMatchObject({ a: 1, b: 0 });
    expect((await lastAudit()).meta).toMatchObject({
      provider: 'a',
      status: 400,
      attempts: [{ provider: 'a', status: 400 }],
    });
  });

  it('every provider failing: the last error reaches the client (429 with its body, or a clean 502)', async () => {
    stubs.a.mode = '500';
    stubs.b.mode = '429';
    stubs.b.retryAfter = '1';
    const err = await chat().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    expect((err as Error).message).toContain('Rate limit reached on b');
    expect((err as { headers: Headers }).headers.get('retry-after')).toBe('1');
    expect(hits()).toMatchObject({ a: 2, b: 2 });
    expect((await lastAudit()).meta).toMatchObject({
      provider: 'b',
      status: 429,
      attempts: [
        { provider: 'a', status: 500 },
        { provider: 'a', status: 500 },
        { provider: 'b', status: 429 },
        { provider: 'b', status: 429 },
      ],
    });

    stubs.a.mode = 'destroy';
    stubs.b.mode = 'destroy';
    const r = await fetch(`${srv.baseUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${keys.main}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: PROMPT }] }),
    });
    expect(r.status).toBe(502);
    expect(await r.json()).toMatchObject({
      error: 'bad_gateway',
      message: 'The provider could not be reached',
    });
    expect((await lastAudit()).meta).toMatchObject({ provider: 'b', status: 502 });
  });

  it('a provider that does not answer in time: 504 within the deadline, no retry on a spent budget', async () => {
    stubs.a.mode = 'hang';
    const started = Date.now();
    const err = await chat().catch((e: unknown) => e);
    expect((err as { status: number }).status).toBe(504);
    expect(Date.now() - started).toBeLessThan(4_000);
    expect(hits()).toMatchObject({ a: 1, b: 0 });
    expect((await lastAudit()).meta).toMatchObject({
      provider: 'a',
      status: 504,
      attempts: [{ provider: 'a', error: 'timeout' }],
    });
  });

  it('embeddings: the same rules (500 twice, then the next provider)', async () => {
    stubs.a.mode = '500';
    const r = await client().embeddings.create({ model: 'emb', input: PROMPT, encoding_format: 'float' });
    expect(r.data[0]?.embedding).toEqual([1, 0.5]);
    expect(hits()).toMatchObject({ a: 2, b: 1 });
    expect((await lastAudit('llm.embedding')).meta).toMatchObject({
      provider: 'b',
      status: 200,
      attempts: [
        { provider: 'a', status: 500 },
        { provider: 'a', status: 500 },
        { provider: 'b', status: 200 },
      ],
    });
  });

  it('messages (Anthropic): 429 twice on the first provider, then the second answers', async () => {
    stubs.x.mode = '429';
    const anthropic = new Anthropic({ apiKey: keys.main as string, baseURL: srv.baseUrl, maxRetries: 0 });
    const r = await anthropic.messages.create({
      model: 'claude-m',
      max_tokens: 8,
      messages: [{ role: 'user', content: PROMPT }],
    });
    expect(r.content[0]).toMatchObject({ type: 'text', text: 'from:y' });
    expect(hits()).toMatchObject({ x: 2, y: 1 });
    expect(stubs.y.keys).toEqual([keyOf('y')]);
    expect((await lastAudit()).meta).toMatchObject({
      provider: 'y',
      status: 200,
      attempts: [
        { provider: 'x', status: 429 },
        { provider: 'x', status: 429 },
        { provider: 'y', status: 200 },
      ],
    });
  });

  it('messages, streamed: a 500 switches before the first byte; a cut after it does not', async () => {
    const anthropic = new Anthropic({ apiKey: keys.main as string, baseURL: srv.baseUrl, maxRetries: 0 });
    const collect = async () => {
      let text = '';
      const stream = await anthropic.messages.create({
        model: 'claude-m',
        max_tokens: 8,
        stream: true,
        messages: [{ role: 'user', content: PROMPT }],
      });
      const err = await (async () => {
        for await (const e of stream)
          if (e.type === 'content_block_delta' && e.delta.type === 'text_delta') text += e.delta.text;
      })().catch((e: unknown) => e);
      return { text, err };
    };
    stubs.x.mode = '500';
    expect(await collect()).toEqual({ text: 'part one from:y', err: undefined });
    expect(hits()).toMatchObject({ x: 2, y: 1 });

    stubs.x.mode = 'cut-stream';
    stubs.x.hits = 0;
    stubs.y.hits = 0;
    const cut = await collect();
    expect(cut.text).toBe('part one ');
    expect(cut.err).toBeInstanceOf(Error);
    expect(hits()).toMatchObject({ x: 1, y: 0 });
    expect((await lastAudit()).meta).toMatchObject({
      provider: 'x',
      status: 502,
      attempts: [{ provider: 'x', status: 200 }],
    });
  });

  it("a key's own list wins over the org's for the models it names", async () => {
    const k = await api('POST', `/api/orgs/${orgId}/api-keys`, {
      name: 'c-first',
      fallbacks: { m: ['c', 'a'] },
    });
    expect(k.status).toBe(201);
    keys.cFirst = k.body.key as string;
    const list = await api('GET', `/api/orgs/${orgId}/api-keys`);
    const listed = (list.body.keys as Array<{ name: string; fallbacks: unknown }>).find(
      (x) => x.name === 'c-first',
    );
    expect(listed?.fallbacks).toEqual({ m: ['c', 'a'] });
    stubs.c.mode = '500';
    expect((await chat('m', 'cFirst')).choices[0]?.message.content).toBe('from:a');
    expect(hits()).toMatchObject({ c: 2, a: 1, b: 0 });
    // A model the key's list does not name: the org's list.
    expect((await chat('m-dead', 'cFirst')).choices[0]?.message.content).toBe('from:b');
  });

  it('lists are checked on save: another region, an unknown provider, a model not served, mixed kinds (400)', async () => {
    const before = (await api('GET', `/api/orgs/${orgId}/settings`)).body.fallbacks;
    for (const [fallbacks, message] of [
      [{ m: ['a', 'euro'] }, "provider euro is in region eu, and this org's requests stay in region us"],
      [{ m: ['a', 'nope'] }, 'no provider named nope in this org'],
      [{ 'only-b': ['b', 'a'] }, 'provider a does not list this model'],
      [{ m: ['a', 'y'] }, 'provider y is of kind anthropic but the list starts with kind openai'],
    ] as const) {
      const r = await api('PATCH', `/api/orgs/${orgId}/settings`, { fallbacks });
      expect(r.status).toBe(400);
      expect(r.body.error).toBe('validation_failed');
      expect(r.body.message).toContain(message);
    }
    for (const fallbacks of [{ m: [] }, { m: ['a', 'a'] }, { m: 'a' }]) {
      const r = await api('PATCH', `/api/orgs/${orgId}/settings`, { fallbacks });
      expect(r.status).toBe(400);
    }
    // A key pinned to eu may list only eu providers; an eu list is fine for it.
    const bad = await api('POST', `/api/orgs/${orgId}/api-keys`, {
      name: 'eu-bad',
      region: 'eu',
      fallbacks: { m: ['euro', 'a'] },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toContain(
      "provider a is in region us, and this key's requests stay in region eu",
    );
    const good = await api('POST', `/api/orgs/${orgId}/api-keys`, {
      name: 'eu-good',
      region: 'eu',
      fallbacks: { m: ['euro'] },
    });
    expect(good.status).toBe(201);
    // Moving the org to eu would leave its lists out of region: refused until the lists change.
    const move = await api('PATCH', `/api/orgs/${orgId}/settings`, { region: 'eu' });
    expect(move.status).toBe(400);
    expect(move.body.message).toContain('requests stay in region eu');
    const after = await api('GET', `/api/orgs/${orgId}/settings`);
    expect(after.body.fallbacks).toEqual(before);
    expect(after.body.region).toBe('us');
  });

  it('a form sending back the settings it read saves, even when a listed provider was deleted since', async () => {
    const original = (await api('GET', `/api/orgs/${orgId}/settings`)).body.fallbacks as Record<
      string,
      string[]
    >;
    expect((await provider('tmp', 'us', ['m-tmp'], 'openai', dead)).status).toBe(200);
    const withTmp = { ...original, 'm-tmp': ['tmp'] };
    expect((await api('PATCH', `/api/orgs/${orgId}/settings`, { fallbacks: withTmp })).status).toBe(200);
    expect((await api('DELETE', `/api/orgs/${orgId}/providers/tmp`)).status).toBe(200);
    // What the dashboard does: GET, change one field, PATCH everything back.
    const read = (await api('GET', `/api/orgs/${orgId}/settings`)).body;
    const saved = await api('PATCH', `/api/orgs/${orgId}/settings`, { ...read, retentionDays: 200 });
    expect(saved.status).toBe(200);
    expect(saved.body.fallbacks).toEqual(withTmp);
    // A changed list is checked whole, the stale entry included.
    const edited = await api('PATCH', `/api/orgs/${orgId}/settings`, {
      fallbacks: { ...withTmp, emb: ['b'] },
    });
    expect(edited.status).toBe(400);
    expect(edited.body.message).toContain('no provider named tmp');
    expect((await api('PATCH', `/api/orgs/${orgId}/settings`, { fallbacks: original })).status).toBe(200);
  });

  it('a provider moved out of the region after the list was saved is skipped at call time', async () => {
    await srv.rampart.services.db.owner((q) =>
      q.query(`UPDATE llm_providers SET region = 'eu' WHERE name = 'a' AND org_id = $1`, [orgId]),
    );
    srv.rampart.services.routing.invalidate(orgId);
    try {
      expect((await chat()).choices[0]?.message.content).toBe('from:b');
      expect(hits()).toMatchObject({ a: 0, b: 1 });
    } finally {
      await srv.rampart.services.db.owner((q) =>
        q.query(`UPDATE llm_providers SET region = 'us' WHERE name = 'a' AND org_id = $1`, [orgId]),
      );
      srv.rampart.services.routing.invalidate(orgId);
    }
  });

  it('the audit rows and logs never hold the prompt or a provider key', async () => {
    stubs.a.mode = '500';
    await chat();
    await srv.rampart.services.usageAudit.flush();
    const audit = await api('GET', `/api/orgs/${orgId}/audit?limit=500`);
    const everything = JSON.stringify(audit.body) + srv.logs.join('');
    for (const needle of ['plugh', ...Object.keys(stubs).map(keyOf), keys.main as string])
      expect(everything).not.toContain(needle);
  });
});
