/**
 * POST /v1/messages through the official `@anthropic-ai/sdk` client, unmodified (issue 24 §1): streamed and not,
 * the caller's key as `Authorization: Bearer` (the SDK's default) or `x-api-key`, the provider's sealed key sent
 * as `x-api-key` with a pinned or caller-chosen `anthropic-version`, redaction of system, text, tool_use input
 * and tool_result content (mask and reversible), redactCompletions on streamed answers split across deltas,
 * data residency, the wrong provider kind, Anthropic's error shape, upstream errors (before and during a stream)
 * passed through, and the usage audit. The upstream is a local stub speaking Anthropic's wire format, its SSE
 * event sequence written from the documented one (message_start, content_block_start, ping,
 * content_block_delta, content_block_stop, message_delta, message_stop; error).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Anthropic from '@anthropic-ai/sdk';
import { api as sessionApi, signup } from '@rampart/testing';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers.js';

interface Seen {
  url: string | undefined;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown> & { messages: Array<{ role: string; content: unknown }> };
  raw: string;
  closedEarly: boolean;
}
type Answer = { status?: number; json: unknown } | { sse: string[] };

const UPSTREAM_KEY = 'sk-ant-upstream-PLAINTEXT-0123456789';
const EMAIL = 'planted.zq9x@example.com';
const PHONE = '(415) 555-0134';
const SSN = '123-45-6789';
const CARD = '4111 1111 1111 1111';
const VALUES = [EMAIL, PHONE, SSN, CARD, 'planted.zq9x', '555-0134', '4111 1111', '45-6789'];

const ev = (type: string, data: object = {}) =>
  `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
type StreamBlock = { text: string[] } | { tool: { id: string; name: string }; json: string[] };
/** A whole Messages stream, as Anthropic documents it. */
function messageEvents(model: string, blocks: StreamBlock[]): string[] {
  const out = [
    ev('message_start', {
      message: {
        id: 'msg_1',
        type: 'message',
        role: 'assistant',
        model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: {
          input_tokens: 25,
          output_tokens: 1,
          cache_read_input_tokens: 5,
          cache_creation_input_tokens: 0,
        },
      },
    }),
    ev('ping'),
  ];
  blocks.forEach((b, index) => {
    if ('text' in b) {
      out.push(ev('content_block_start', { index, content_block: { type: 'text', text: '' } }));
      for (const text of b.text)
        out.push(ev('content_block_delta', { index, delta: { type: 'text_delta', text } }));
    } else {
      out.push(
        ev('content_block_start', {
          index,
          content_block: { type: 'tool_use', id: b.tool.id, name: b.tool.name, input: {} },
        }),
      );
      for (const partial_json of b.json)
        out.push(ev('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json } }));
    }
    out.push(ev('content_block_stop', { index }));
  });
  const toolUse = blocks.some((b) => 'tool' in b);
  out.push(
    ev('message_delta', {
      delta: { stop_reason: toolUse ? 'tool_use' : 'end_turn', stop_sequence: null },
      usage: { output_tokens: 15 },
    }),
  );
  out.push(ev('message_stop'));
  return out;
}
const message = (model: string, content: unknown[]) => ({
  id: 'msg_1',
  type: 'message',
  role: 'assistant',
  model,
  content,
  stop_reason: 'end_turn',
  stop_sequence: null,
  usage: { input_tokens: 25, output_tokens: 15 },
});
/** The text of the last user message as the stub saw it. */
const lastUserText = (body: Seen['body']) => {
  const c = body.messages.at(-1)?.content;
  if (typeof c === 'string') return c;
  return (c as Array<{ type: string; text?: string }>).map((b) => b.text ?? '').join('');
};

function defaultAnswer(body: Seen['body']): Answer {
  const model = String(body.model);
  if (model === 'claude-overloaded')
    return {
      status: 529,
      json: { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } },
    };
  const text = `echo:${lastUserText(body)}`;
  if (body.stream) return { sse: messageEvents(model, [{ text: [text.slice(0, 3), text.slice(3)] }]) };
  return { json: message(model, [{ type: 'text', text }]) };
}

function startUpstream() {
  const seen: Seen[] = [];
  const state = { answer: defaultAnswer };
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => {
      raw += c;
    });
    req.on('end', () => {
      const body = JSON.parse(raw) as Seen['body'];
      const entry: Seen = { url: req.url, headers: req.headers, body, raw, closedEarly: false };
      seen.push(entry);
      res.on('close', () => {
        if (!res.writableFinished) entry.closedEarly = true;
      });
      if (req.url === '/v1/messages/count_tokens') {
        res.writeHead(200, { 'content-type': 'application/json' });
        return void res.end(JSON.stringify({ input_tokens: 42 }));
      }
      const a = state.answer(body);
      if ('json' in a) {
        res.writeHead(a.status ?? 200, { 'content-type': 'application/json', 'request-id': 'req_upstream' });
        return void res.end(JSON.stringify(a.json));
      }
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      // Each event in two writes: events split across network chunks.
      const pieces = a.sse.flatMap((e) => [
        e.slice(0, Math.ceil(e.length / 2)),
        e.slice(Math.ceil(e.length / 2)),
      ]);
      const tick = () => {
        if (res.destroyed) return;
        const p = pieces.shift();
        if (p === undefined) return void res.end();
        res.write(p);
        setTimeout(tick, body.model === 'claude-drip' ? 300 : 2);
      };
      tick();
    });
  });
  return new Promise<{ server: Server; port: number; seen: Seen[]; state: typeof state }>((r) =>
    server.listen(0, '127.0.0.1', () =>
      r({ server, port: (server.address() as AddressInfo).port, seen, state }),
    ),
  );
}

/**
 * One engine: this suite tests Anthropic wire protocol translation, SSE and headers, the same code whatever the database. The SQL it
 * touches (providers, keys, settings, usage and audit rows) is tested on both engines by gateway.test.ts,
 * gateway-usage.test.ts, gateway-limits.test.ts and the tenancy suites. PGlite: there in every environment.
 */
describe.each(['pglite' as const])('gateway Anthropic Messages API (%s)', (engine) => {
  let srv: TestServer;
  let up: Awaited<ReturnType<typeof startUpstream>>;
  let session: string;
  let orgId: string;
  const keys: Record<string, string> = {};

  const api = (method: string, path: string, body?: unknown) =>
    sessionApi(srv.baseUrl, session).request(method, path, body);
  /** The SDK as it comes: the key goes as `Authorization: Bearer`. */
  const client = (name: string) =>
    new Anthropic({ apiKey: keys[name] as string, baseURL: srv.baseUrl, maxRetries: 0 });
  /** The SDK with the key moved to `x-api-key` through its documented defaultHeaders (no Authorization). */
  const xApiKeyClient = (name: string) =>
    new Anthropic({
      apiKey: keys[name] as string,
      baseURL: srv.baseUrl,
      maxRetries: 0,
      defaultHeaders: { 'X-Api-Key': keys[name] as string, Authorization: null },
    });
  const lastSeen = () => up.seen.at(-1) as Seen;
  const raw = async (headers: Record<string, string>, body: unknown) => {
    const r = await fetch(`${srv.baseUrl}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
    return { status: r.status, headers: r.headers, text: await r.text() };
  };
  const expectNoValue = (text: string) => {
    for (const v of VALUES) expect(text).not.toContain(v);
  };

  beforeAll(async () => {
    up = await startUpstream();
    srv = await startTestServer(engine, { RAMPART_OUTBOUND_ALLOW: '127.0.0.1' });
    ({ token: session, orgId } = await signup(srv.baseUrl, { orgName: 'Anthropic Org' }));
    const claude = await api('PUT', `/api/orgs/${orgId}/providers/claude`, {
      kind: 'anthropic',
      baseUrl: `http://127.0.0.1:${up.port}`,
      apiKey: UPSTREAM_KEY,
      models: ['claude-test', 'claude-overloaded', 'claude-drip'],
    });
    expect(claude.status).toBe(200);
    expect(claude.body).toMatchObject({ kind: 'anthropic', apiKeyMasked: 'sk-...6789' });
    const gpt = await api('PUT', `/api/orgs/${orgId}/providers/gpt`, {
      baseUrl: `http://127.0.0.1:${up.port}/v1`,
      apiKey: 'sk-openai-other-0000',
      models: ['gpt-only'],
    });
    expect(gpt.status).toBe(200);
    for (const [name, extra] of Object.entries({
      inherit: {},
      off: { redaction: 'off' },
      reversible: { redactionMode: 'reversible' },
      answersOn: { redactCompletions: true },
      eu: { region: 'eu' },
    })) {
      const k = await api('POST', `/api/orgs/${orgId}/api-keys`, { name, ...extra });
      expect(k.status).toBe(201);
      keys[name] = k.body.key as string;
    }
  });
  beforeEach(() => {
    up.state.answer = defaultAnswer;
  });
  afterAll(async () => {
    await srv?.close();
    up?.server.closeAllConnections();
    await new Promise((r) => up?.server.close(r));
  });

  it('non-streaming with the SDK as it comes (Bearer): the provider gets its sealed key as x-api-key, the version, and redacted text', async () => {
    const r = await client('inherit').messages.create({
      model: 'claude-test',
      max_tokens: 64,
      system: `Customer ${EMAIL}`,
      messages: [{ role: 'user', content: `call me at ${PHONE}` }],
    });
    expect(r.type).toBe('message');
    expect(r.content[0]).toEqual({ type: 'text', text: 'echo:call me at [PHONE]' });
    expect(r.usage).toMatchObject({ input_tokens: 25, output_tokens: 15 });
    const seen = lastSeen();
    expect(seen.url).toBe('/v1/messages');
    expect(seen.headers['x-api-key']).toBe(UPSTREAM_KEY);
    expect(seen.headers.authorization).toBeUndefined();
    // The SDK sends its own anthropic-version: the caller's choice goes through.
    expect(seen.headers['anthropic-version']).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(JSON.stringify(seen.headers)).not.toContain(keys.inherit as string);
    expect(seen.body.system).toBe('Customer [EMAIL]');
    expect(seen.body.max_tokens).toBe(64);
    expectNoValue(seen.raw);
  });

  it('tool_use input and tool_result content (string and blocks) reach the upstream redacted; images are kept', async () => {
    await xApiKeyClient('inherit').messages.create({
      model: 'claude-test',
      max_tokens: 64,
      system: [{ type: 'text', text: `SSN ${SSN}` }],
      tools: [{ name: 'send', description: 'send mail', input_schema: { type: 'object' } }],
      messages: [
        { role: 'user', content: [{ type: 'text', text: `Mail ${EMAIL} my card ${CARD}` }] },
        {
          role: 'assistant',
          content: [
            {
              type: 'tool_use',
              id: 'toolu_1',
              name: 'send',
              input: { to: EMAIL, nested: { phone: PHONE, n: 7 }, card: 4111111111111111 },
            },
          ],
        },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'toolu_1', content: `sent to ${EMAIL}` },
            {
              type: 'tool_result',
              tool_use_id: 'toolu_2',
              content: [
                { type: 'text', text: `SSN ${SSN}` },
                { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
              ],
            },
          ],
        },
      ],
    });
    const seen = lastSeen();
    expectNoValue(seen.raw);
    expect(seen.body.system).toEqual([{ type: 'text', text: 'SSN [SSN]' }]);
    const [, assistant, results] = seen.body.messages as Array<{ content: unknown }>;
    expect(((assistant?.content ?? []) as Array<{ input: unknown }>)[0]?.input).toEqual({
      to: '[EMAIL]',
      nested: { phone: '[PHONE]', n: 7 },
      card: '[CREDIT_CARD]',
    });
    expect(results?.content).toEqual([
      { type: 'tool_result', tool_use_id: 'toolu_1', content: 'sent to [EMAIL]' },
      {
        type: 'tool_result',
        tool_use_id: 'toolu_2',
        content: [
          { type: 'text', text: 'SSN [SSN]' },
          { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
        ],
      },
    ]);
    expect(seen.body.tools).toEqual([
      { name: 'send', description: 'send mail', input_schema: { type: 'object' } },
    ]);
    // A key with redaction off sends the text as it is.
    await client('off').messages.create({
      model: 'claude-test',
      max_tokens: 8,
      messages: [{ role: 'user', content: `call ${PHONE}` }],
    });
    expect(lastSeen().body.messages[0]?.content).toBe(`call ${PHONE}`);
  });

  it('streaming: the SDK rebuilds text and tool input from the relayed events; usage from message_start and message_delta', async () => {
    up.state.answer = (body) =>
      body.stream
        ? {
            sse: messageEvents(String(body.model), [
              { text: ['Hel', 'lo', ' there'] },
              { tool: { id: 'toolu_9', name: 'lookup' }, json: ['{"q": "wea', 'ther", "n": 3}'] },
            ]),
          }
        : defaultAnswer(body);
    const stream = xApiKeyClient('inherit').messages.stream({
      model: 'claude-test',
      max_tokens: 64,
      messages: [{ role: 'user', content: `hi from ${EMAIL}` }],
    });
    const types: string[] = [];
    let text = '';
    stream.on('streamEvent', (e) => {
      types.push(e.type);
    });
    stream.on('text', (t) => {
      text += t;
    });
    const final = await stream.finalMessage();
    expect(text).toBe('Hello there');
    expect(final.content).toEqual([
      { type: 'text', text: 'Hello there' },
      { type: 'tool_use', id: 'toolu_9', name: 'lookup', input: { q: 'weather', n: 3 } },
    ]);
    expect(final.stop_reason).toBe('tool_use');
    expect(final.usage).toMatchObject({ input_tokens: 25, output_tokens: 15 });
    expect(types).toEqual([
      'message_start',
      'content_block_start',
      'content_block_delta',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'content_block_start',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    expect(lastSeen().body.stream).toBe(true);
    expect(lastSeen().headers.accept).toBe('text/event-stream');
    expectNoValue(lastSeen().raw);
  });

  it('redactCompletions: items split across deltas (text and tool input) are masked in the stream and in a plain answer', async () => {
    up.state.answer = (body) => {
      const model = String(body.model);
      if (!body.stream)
        return {
          json: message(model, [
            { type: 'text', text: `call ${PHONE}` },
            { type: 'tool_use', id: 't1', name: 'send', input: { to: EMAIL } },
          ]),
        };
      return {
        sse: messageEvents(model, [
          { text: ['call (415) 55', '5-0134 or mail plan', 'ted.zq9x@exam', 'ple.com now'] },
          { tool: { id: 't1', name: 'send' }, json: ['{"to": "planted.z', 'q9x@example.com"}'] },
        ]),
      };
    };
    const plain = await client('answersOn').messages.create({
      model: 'claude-test',
      max_tokens: 8,
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(plain.content).toEqual([
      { type: 'text', text: 'call [PHONE]' },
      { type: 'tool_use', id: 't1', name: 'send', input: { to: '[EMAIL]' } },
    ]);
    const res = await raw(
      { authorization: `Bearer ${keys.answersOn}` },
      { model: 'claude-test', max_tokens: 8, stream: true, messages: [{ role: 'user', content: 'hi' }] },
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expectNoValue(res.text);
    const final = await client('answersOn')
      .messages.stream({ model: 'claude-test', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] })
      .finalMessage();
    expect(final.content).toEqual([
      { type: 'text', text: 'call [PHONE] or mail [EMAIL] now' },
      { type: 'tool_use', id: 't1', name: 'send', input: { to: '[EMAIL]' } },
    ]);
    // Without redactCompletions the answer is untouched.
    const untouched = await client('inherit')
      .messages.stream({ model: 'claude-test', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] })
      .finalMessage();
    expect(untouched.content[0]).toMatchObject({ text: `call ${PHONE} or mail ${EMAIL} now` });
  });

  it('reversible mode: the provider sees numbered placeholders only; the caller gets its values back, streamed (split placeholders) or not', async () => {
    // The stub answers with the placeholders it received, split across deltas, in text and tool input.
    up.state.answer = (body) => {
      const model = String(body.model);
      const got = lastUserText(body);
      const email = /\[EMAIL_\d+\]/.exec(got)?.[0] ?? 'none';
      if (!body.stream)
        return {
          json: message(model, [
            { type: 'text', text: `noted ${email}` },
            { type: 'tool_use', id: 't1', name: 'send', input: { to: email } },
          ]),
        };
      return {
        sse: messageEvents(model, [
          { text: ['noted [EMA', `${email.slice(4, 7)}`, `${email.slice(7)} ok`] },
          { tool: { id: 't1', name: 'send' }, json: ['{"to": "[EM', `${email.slice(3)}"}`] },
        ]),
      };
    };
    const plain = await client('reversible').messages.create({
      model: 'claude-test',
      max_tokens: 8,
      messages: [{ role: 'user', content: `I am ${EMAIL}` }],
    });
    expect(lastUserText(lastSeen().body)).toBe('I am [EMAIL_1]');
    expectNoValue(lastSeen().raw);
    expect(plain.content).toEqual([
      { type: 'text', text: `noted ${EMAIL}` },
      { type: 'tool_use', id: 't1', name: 'send', input: { to: EMAIL } },
    ]);
    const streamed = await client('reversible')
      .messages.stream({
        model: 'claude-test',
        max_tokens: 8,
        messages: [{ role: 'user', content: [{ type: 'text', text: `I am ${EMAIL}` }] }],
      })
      .finalMessage();
    expectNoValue(lastSeen().raw);
    expect(streamed.content).toEqual([
      { type: 'text', text: `noted ${EMAIL} ok` },
      { type: 'tool_use', id: 't1', name: 'send', input: { to: EMAIL } },
    ]);
  });

  it('anthropic-version is pinned to 2023-06-01 when the caller sends none, the caller’s wins otherwise; anthropic-beta passes', async () => {
    const a = await raw(
      { 'x-api-key': keys.inherit as string },
      { model: 'claude-test', max_tokens: 8, messages: [{ role: 'user', content: 'x' }] },
    );
    expect(a.status).toBe(200);
    expect(lastSeen().headers['anthropic-version']).toBe('2023-06-01');
    expect(lastSeen().headers['anthropic-beta']).toBeUndefined();
    const b = await raw(
      {
        'x-api-key': keys.inherit as string,
        'anthropic-version': '2024-10-22',
        'anthropic-beta': 'prompt-caching-2024-07-31,token-efficient-tools-2025-02-19',
      },
      { model: 'claude-test', max_tokens: 8, messages: [{ role: 'user', content: 'x' }] },
    );
    expect(b.status).toBe(200);
    expect(lastSeen().headers['anthropic-version']).toBe('2024-10-22');
    expect(lastSeen().headers['anthropic-beta']).toBe(
      'prompt-caching-2024-07-31,token-efficient-tools-2025-02-19',
    );
    const before = up.seen.length;
    for (const headers of [{ 'anthropic-version': 'latest' }, { 'anthropic-beta': 'a;b' }]) {
      const bad = await raw(
        { 'x-api-key': keys.inherit as string, ...headers },
        { model: 'claude-test', max_tokens: 8, messages: [{ role: 'user', content: 'x' }] },
      );
      expect(bad.status).toBe(400);
      expect(JSON.parse(bad.text)).toMatchObject({ error: { type: 'invalid_request_error' } });
    }
    expect(up.seen.length).toBe(before);
  });

  it("errors use Anthropic's shape: bad key 401, session 401, two different keys 401, bad body 400; the SDK reads them", async () => {
    const before = up.seen.length;
    const err = await new Anthropic({ apiKey: 'rk_live_nope', baseURL: srv.baseUrl, maxRetries: 0 }).messages
      .create({ model: 'claude-test', max_tokens: 8, messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.AuthenticationError);
    expect((err as InstanceType<typeof Anthropic.APIError>).type).toBe('authentication_error');
    expect((err as InstanceType<typeof Anthropic.APIError>).errorCode).toBe('unauthorized');
    expect((err as InstanceType<typeof Anthropic.APIError>).requestID).toMatch(/^[0-9a-f-]{36}$/);
    const body = { model: 'claude-test', max_tokens: 8, messages: [{ role: 'user', content: 'x' }] };
    for (const headers of [
      { 'x-api-key': 'rk_live_nope' },
      { authorization: `Bearer ${session}` },
      { 'x-api-key': session },
      { 'x-api-key': keys.inherit as string, authorization: `Bearer ${keys.off}` },
      {},
    ]) {
      const r = await raw(headers, body);
      expect(r.status).toBe(401);
      const j = JSON.parse(r.text) as Record<string, unknown>;
      expect(j).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });
      expect(typeof (j.error as { message: unknown }).message).toBe('string');
      expect(j.request_id).toBe(r.headers.get('request-id'));
    }
    const invalid = await raw(
      { 'x-api-key': keys.inherit as string },
      { model: 'claude-test', messages: [] },
    );
    expect(invalid.status).toBe(400);
    expect(JSON.parse(invalid.text)).toMatchObject({
      type: 'error',
      error: { type: 'invalid_request_error', details: { error_code: 'validation_failed' } },
    });
    expect(up.seen.length).toBe(before);
  });

  it('data residency: an eu key is never routed to a us provider (403 permission_error, region_not_allowed)', async () => {
    const before = up.seen.length;
    const err = await client('eu')
      .messages.create({ model: 'claude-test', max_tokens: 8, messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.PermissionDeniedError);
    expect((err as InstanceType<typeof Anthropic.APIError>).type).toBe('permission_error');
    expect((err as InstanceType<typeof Anthropic.APIError>).errorCode).toBe('region_not_allowed');
    expect(up.seen.length).toBe(before);
  });

  it('the wrong provider kind for the route is a clear 400 either way; an unknown model is 404', async () => {
    const before = up.seen.length;
    const err = await client('inherit')
      .messages.create({ model: 'gpt-only', max_tokens: 8, messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
    expect((err as InstanceType<typeof Anthropic.APIError>).apiMessage).toMatch(
      /openai-kind provider.*\/v1\/chat\/completions/,
    );
    const chat = await new OpenAI({
      apiKey: keys.inherit as string,
      baseURL: `${srv.baseUrl}/v1`,
      maxRetries: 0,
    }).chat.completions
      .create({ model: 'claude-test', messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    expect(chat).toBeInstanceOf(OpenAI.BadRequestError);
    const missing = await client('inherit')
      .messages.create({ model: 'nope', max_tokens: 8, messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(Anthropic.NotFoundError);
    expect((missing as InstanceType<typeof Anthropic.APIError>).type).toBe('not_found_error');
    expect(up.seen.length).toBe(before);
  });

  it('an upstream error passes through as the upstream sent it, streamed request or not', async () => {
    for (const stream of [false, true]) {
      const err = await client('inherit')
        .messages.create({
          model: 'claude-overloaded',
          max_tokens: 8,
          stream,
          messages: [{ role: 'user', content: 'x' }],
        })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Anthropic.APIError);
      const e = err as InstanceType<typeof Anthropic.APIError>;
      expect(e.status).toBe(529);
      expect(e.type).toBe('overloaded_error');
      expect(e.apiMessage).toBe('Overloaded');
      expect(e.error).toEqual({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } });
    }
  });

  it('an error event mid-stream reaches the SDK, and the usage row notes it', async () => {
    up.state.answer = (body) => ({
      sse: [
        ...messageEvents(String(body.model), [{ text: ['partial'] }]).slice(0, 4),
        ev('error', { error: { type: 'overloaded_error', message: 'Overloaded' } }),
      ],
    });
    const err = await client('inherit')
      .messages.stream({ model: 'claude-test', max_tokens: 8, messages: [{ role: 'user', content: 'x' }] })
      .finalMessage()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.APIError);
    expect((err as InstanceType<typeof Anthropic.APIError>).type).toBe('overloaded_error');
    // The SDK throws on the event; the gateway's row lands when the upstream ends, just after.
    await expect
      .poll(async () => {
        await srv.rampart.services.usageAudit.flush();
        const audit = await api('GET', `/api/orgs/${orgId}/audit?action=llm.completion&limit=500`);
        return (audit.body.entries as Array<{ meta: Record<string, unknown> }>).at(-1)?.meta;
      })
      .toMatchObject({ api: 'messages', stream: true, status: 200, streamError: 'overloaded_error' });
  });

  it('a client that disconnects mid-stream aborts the upstream request', async () => {
    const controller = new AbortController();
    const stream = await client('inherit').messages.create(
      { model: 'claude-drip', max_tokens: 8, stream: true, messages: [{ role: 'user', content: 'x' }] },
      { signal: controller.signal },
    );
    const iter = stream[Symbol.asyncIterator]();
    await iter.next();
    controller.abort();
    await iter.next().catch(() => undefined);
    const seen = lastSeen();
    await expect.poll(() => seen.closedEarly, { timeout: 3_000 }).toBe(true);
  });

  it('count_tokens: the SDK gets the count; the provider sees the redacted prompt; a usage row without text', async () => {
    const r = await client('reversible').messages.countTokens({
      model: 'claude-test',
      system: `for ${EMAIL}`,
      messages: [{ role: 'user', content: [{ type: 'text', text: `call ${PHONE}` }] }],
    });
    expect(r).toEqual({ input_tokens: 42 });
    const seen = lastSeen();
    expect(seen.url).toBe('/v1/messages/count_tokens');
    expect(seen.headers['x-api-key']).toBe(UPSTREAM_KEY);
    // Nothing comes back to restore: the fixed placeholders, even for a reversible key.
    expect(seen.body.system).toBe('for [EMAIL]');
    expectNoValue(seen.raw);
    const bad = await raw({ authorization: 'Bearer rk_live_nope' }, { model: 'claude-test', messages: [] });
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.text)).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
    await srv.rampart.services.usageAudit.flush();
    const audit = await api('GET', `/api/orgs/${orgId}/audit?action=llm.count_tokens&limit=10`);
    const rows = audit.body.entries as Array<{ meta: Record<string, unknown> }>;
    expect(rows.at(-1)?.meta).toMatchObject({
      api: 'count_tokens',
      status: 200,
      redactionMode: 'mask',
      usage: { prompt: 42, completion: null },
    });
  });

  it('audits usage per call (key, model, provider, region, status, tokens) and never the text or a key', async () => {
    await client('inherit').messages.create({
      model: 'claude-test',
      max_tokens: 8,
      messages: [{ role: 'user', content: 'secret words xyzzy' }],
    });
    await client('inherit')
      .messages.stream({ model: 'claude-test', max_tokens: 8, messages: [{ role: 'user', content: 'x' }] })
      .finalMessage();
    await srv.rampart.services.usageAudit.flush();
    const audit = await api('GET', `/api/orgs/${orgId}/audit?action=llm.completion&limit=500`);
    const entries = audit.body.entries as Array<{ apiKeyId: string; meta: Record<string, unknown> }>;
    const [plain, streamed] = entries.slice(-2) as Array<{ apiKeyId: string; meta: Record<string, unknown> }>;
    expect(plain?.apiKeyId).toMatch(/^[0-9a-f-]{36}$/);
    expect(plain?.meta).toMatchObject({
      api: 'messages',
      model: 'claude-test',
      provider: 'claude',
      region: 'us',
      status: 200,
      stream: false,
      redacted: true,
      usage: { prompt: 25, completion: 15, total: 40, cacheRead: null, cacheWrite: null },
    });
    // Streamed: input from message_start, output from message_delta (replacing message_start's 1).
    expect(streamed?.meta).toMatchObject({
      stream: true,
      status: 200,
      usage: { prompt: 25, completion: 15, total: 40, cacheRead: 5, cacheWrite: 0 },
    });
    expect(entries.some((e) => e.meta.status === 529)).toBe(true);
    const everything = JSON.stringify(audit.body) + srv.logs.join('');
    expectNoValue(everything);
    for (const needle of ['xyzzy', UPSTREAM_KEY, '[EMAIL_1]', keys.inherit as string])
      expect(everything).not.toContain(needle);
  });
});
