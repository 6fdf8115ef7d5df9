/**
 * Gateway redaction beyond message text (issue 22): tool-call arguments, tool messages, names and every text
 * part type; `redactCompletions` on answers, streamed (an item split across chunks) or not; reversible mode,
 * where the provider sees only numbered placeholders and the caller gets its values back, tool-call arguments
 * included; per-key overrides; and no planted value in logs, audit or tables. Real HTTP against a local stub
 * upstream speaking OpenAI's wire format; nothing of ours is mocked.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { api as sessionApi, signup } from '@rampart/testing';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tablesContaining } from './fixtures.js';
import { startTestServer, type TestServer } from './helpers.js';

interface Seen {
  body: Record<string, unknown> & { messages: Array<Record<string, unknown>> };
  raw: string;
}
interface SentMessage {
  name?: string;
  content?: unknown;
  tool_calls?: Array<{ function: { name: string; arguments: string } }>;
}
/** The arguments of an answer's first tool call (a function call). */
const argsOf = (m: { tool_calls?: unknown[] } | undefined) =>
  (m?.tool_calls?.[0] as { function: { arguments: string } } | undefined)?.function.arguments ?? '';
/** What the stub answers: a JSON body, or raw SSE text written piece by piece (pieces may split events). */
type Answer = { json: unknown } | { sse: string[] };

const EMAIL = 'planted.zq9x@example.com';
const PHONE = '(415) 555-0134';
const CARD = '4111 1111 1111 1111';
const SSN = '123-45-6789';
const VALUES = [EMAIL, PHONE, CARD, SSN, 'planted.zq9x', '555-0134', '4111 1111', '45-6789'];

const completion = (message: Record<string, unknown>) => ({
  id: 'chatcmpl-1',
  object: 'chat.completion',
  created: 1,
  model: 'gpt-test',
  choices: [{ index: 0, message: { role: 'assistant', ...message }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
});
const event = (delta: Record<string, unknown>, finish: string | null = null) =>
  `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'gpt-test', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
const toolDelta = (args: string, first = false) => ({
  tool_calls: [
    first
      ? { index: 0, id: 'call_1', type: 'function', function: { name: 'send', arguments: args } }
      : { index: 0, function: { arguments: args } },
  ],
});

function startUpstream(): Promise<{
  server: Server;
  port: number;
  seen: Seen[];
  answer: { next: (body: Seen['body']) => Answer };
}> {
  const seen: Seen[] = [];
  const answer = { next: (_: Seen['body']): Answer => ({ json: completion({ content: 'ok' }) }) };
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => {
      raw += c;
    });
    req.on('end', () => {
      const body = JSON.parse(raw) as Seen['body'];
      seen.push({ body, raw });
      const a = answer.next(body);
      if ('json' in a) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(a.json));
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const pieces = [...a.sse];
      const tick = () => {
        if (res.destroyed) return;
        const p = pieces.shift();
        if (p === undefined) return void res.end();
        res.write(p);
        setTimeout(tick, 5);
      };
      tick();
    });
  });
  return new Promise((r) =>
    server.listen(0, '127.0.0.1', () =>
      r({ server, port: (server.address() as AddressInfo).port, seen, answer }),
    ),
  );
}

/** Reads a streamed answer raw: every network chunk as received, and the parsed deltas. */
async function rawStream(baseUrl: string, key: string, body: unknown) {
  const r = await fetch(`${baseUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ ...(body as object), stream: true }),
  });
  expect(r.status).toBe(200);
  const received: string[] = [];
  const decoder = new TextDecoder();
  for await (const c of r.body as unknown as AsyncIterable<Uint8Array>)
    received.push(decoder.decode(c, { stream: true }));
  const all = received.join('');
  let content = '';
  let args = '';
  for (const line of all.split('\n')) {
    if (!line.startsWith('data: ') || line === 'data: [DONE]') continue;
    const chunk = JSON.parse(line.slice(6)) as {
      choices: Array<{
        delta: { content?: string; tool_calls?: Array<{ function?: { arguments?: string } }> };
      }>;
    };
    for (const ch of chunk.choices) {
      content += ch.delta.content ?? '';
      for (const t of ch.delta.tool_calls ?? []) args += t.function?.arguments ?? '';
    }
  }
  return { received, all, content, args };
}

/**
 * One engine: this suite tests redaction of requests and answers, the same code whatever the database. The SQL it
 * touches (providers, keys, settings, usage and audit rows) is tested on both engines by gateway.test.ts,
 * gateway-usage.test.ts, gateway-limits.test.ts and the tenancy suites. PGlite: there in every environment.
 */
describe.each(['pglite' as const])('gateway redaction: tools, answers, reversible mode (%s)', (engine) => {
  let srv: TestServer;
  let up: Awaited<ReturnType<typeof startUpstream>>;
  let session: string;
  let orgId: string;
  const keys: Record<string, string> = {};

  const api = (method: string, path: string, body?: unknown) =>
    sessionApi(srv.baseUrl, session).request(method, path, body);
  const client = (name: string) =>
    new OpenAI({ apiKey: keys[name] as string, baseURL: `${srv.baseUrl}/v1`, maxRetries: 0 });
  const lastSeen = () => up.seen.at(-1) as Seen;
  const settings = async (change: Record<string, unknown>) =>
    expect((await api('PATCH', `/api/orgs/${orgId}/settings`, change)).status).toBe(200);
  const expectNoValue = (text: string) => {
    for (const v of VALUES) expect(text).not.toContain(v);
  };

  beforeAll(async () => {
    up = await startUpstream();
    srv = await startTestServer(engine, { RAMPART_OUTBOUND_ALLOW: '127.0.0.1' });
    ({ token: session, orgId } = await signup(srv.baseUrl, { orgName: 'Redaction Org' }));
    const put = await api('PUT', `/api/orgs/${orgId}/providers/stub`, {
      baseUrl: `http://127.0.0.1:${up.port}/v1`,
      apiKey: 'sk-stub-0000000000000000',
      models: ['gpt-test'],
    });
    expect(put.status).toBe(200);
    for (const [name, extra] of Object.entries({
      inherit: {},
      reversible: { redactionMode: 'reversible' },
      mask: { redactionMode: 'mask' },
      answersOff: { redactCompletions: false },
      answersOn: { redactCompletions: true },
    })) {
      const k = await api('POST', `/api/orgs/${orgId}/api-keys`, { name, ...extra });
      expect(k.status).toBe(201);
      keys[name] = k.body.key as string;
    }
  });
  afterAll(async () => {
    await srv?.close();
    up?.server.closeAllConnections();
    await new Promise((r) => up?.server.close(r));
  });

  it('requests: tool-call arguments (JSON kept valid), tool messages, names and every text part type', async () => {
    await client('inherit').chat.completions.create({
      model: 'gpt-test',
      messages: [
        {
          role: 'user',
          name: 'planted.zq9x@example.com',
          content: [{ type: 'text', text: `call ${PHONE}` }],
        },
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            {
              id: 'call_1',
              type: 'function',
              function: {
                name: 'send',
                arguments: JSON.stringify({ to: EMAIL, card: CARD, nested: { ssn: SSN, n: 7 } }),
              },
            },
          ],
        },
        { role: 'tool', tool_call_id: 'call_1', content: `sent to ${EMAIL}, SSN ${SSN}` },
        // Part types the SDK does not know of are still text: sent as is by other clients.
        { role: 'user', content: [{ type: 'input_text', text: `card ${CARD}` }] as never },
      ],
    });
    const seen = lastSeen();
    expectNoValue(seen.raw);
    const [user, assistant, tool, other] = seen.body.messages as SentMessage[];
    expect(user?.name).toBe('[EMAIL]');
    expect(user?.content).toEqual([{ type: 'text', text: 'call [PHONE]' }]);
    const args = assistant?.tool_calls?.[0]?.function.arguments as string;
    expect(JSON.parse(args)).toEqual({
      to: '[EMAIL]',
      card: '[CREDIT_CARD]',
      nested: { ssn: '[SSN]', n: 7 },
    });
    expect(assistant?.tool_calls?.[0]?.function.name).toBe('send');
    expect(tool?.content).toBe('sent to [EMAIL], SSN [SSN]');
    expect(other?.content).toEqual([{ type: 'input_text', text: 'card [CREDIT_CARD]' }]);
  });

  it('redactCompletions off (the default): the answer passes as is', async () => {
    up.answer.next = () => ({ json: completion({ content: `reach me at ${PHONE}` }) });
    const r = await client('inherit').chat.completions.create({
      model: 'gpt-test',
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(r.choices[0]?.message.content).toBe(`reach me at ${PHONE}`);
  });

  it('redactCompletions on: a non-streamed answer is redacted, tool-call arguments included', async () => {
    await settings({ redactCompletions: true });
    up.answer.next = () => ({
      json: completion({
        content: `Mail ${EMAIL} or call ${PHONE}`,
        tool_calls: [
          {
            id: 'call_1',
            type: 'function',
            function: { name: 'send', arguments: JSON.stringify({ to: EMAIL, ssn: SSN }) },
          },
        ],
      }),
    });
    const r = await client('inherit').chat.completions.create({
      model: 'gpt-test',
      messages: [{ role: 'user', content: 'hi' }],
    });
    const m = r.choices[0]?.message;
    expect(m?.content).toBe('Mail [EMAIL] or call [PHONE]');
    expect(JSON.parse(argsOf(m))).toEqual({
      to: '[EMAIL]',
      ssn: '[SSN]',
    });
    expect(r.usage?.total_tokens).toBe(2);
  });

  it('redactCompletions on, streamed: a phone number split across chunks is redacted and never sent in part', async () => {
    const whole = event({ content: ' thanks' });
    up.answer.next = () => ({
      sse: [
        event({ role: 'assistant', content: 'Call me at (415) 55' }),
        event({ content: '5-01' }),
        event({ content: '34 or mail planted.zq9x@exa' }),
        event({ content: 'mple.com' }),
        // An event split across two network writes.
        whole.slice(0, 20),
        whole.slice(20),
        event(toolDelta('{"to":"planted.zq9x@', true)),
        event(toolDelta('example.com","ssn":"123-4')),
        event(toolDelta('5-6789"}')),
        event({}, 'stop'),
        'data: [DONE]\n\n',
      ],
    });
    const { received, content, args, all } = await rawStream(srv.baseUrl, keys.inherit as string, {
      model: 'gpt-test',
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(content).toBe('Call me at [PHONE] or mail [EMAIL] thanks');
    expect(JSON.parse(args)).toEqual({ to: '[EMAIL]', ssn: '[SSN]' });
    expectNoValue(all);
    // Not even a fragment of the number went out before it was known whole.
    for (const chunk of received) expect(chunk).not.toMatch(/\(415\)|55-?0|0134/);
    expect(all.trim().endsWith('data: [DONE]')).toBe(true);
    await settings({ redactCompletions: false });
  });

  it('redactCompletions through the official client, streamed: held text arrives before the end', async () => {
    await settings({ redactCompletions: true });
    up.answer.next = () => ({
      sse: [event({ content: 'ring 415-55' }), event({ content: '5-0134 later' }), 'data: [DONE]\n\n'],
    });
    const stream = await client('inherit').chat.completions.create({
      model: 'gpt-test',
      stream: true,
      messages: [{ role: 'user', content: 'hi' }],
    });
    let text = '';
    for await (const c of stream) text += c.choices[0]?.delta?.content ?? '';
    expect(text).toBe('ring [PHONE] later');
    await settings({ redactCompletions: false });
  });

  it('redactCompletions (key override), streamed: the legacy function_call arguments too', async () => {
    up.answer.next = () => ({
      sse: [
        event({ role: 'assistant', function_call: { name: 'send', arguments: '{"to":"planted.zq9x@ex' } }),
        event({ function_call: { arguments: 'ample.com"}' } }),
        event({}, 'function_call'),
        'data: [DONE]\n\n',
      ],
    });
    const { all } = await rawStream(srv.baseUrl, keys.answersOn as string, {
      model: 'gpt-test',
      messages: [{ role: 'user', content: 'hi' }],
    });
    expectNoValue(all);
    let args = '';
    for (const line of all.split('\n')) {
      if (!line.startsWith('data: {')) continue;
      const c = JSON.parse(line.slice(6)) as {
        choices: Array<{ delta: { function_call?: { arguments?: string } } }>;
      };
      args += c.choices[0]?.delta.function_call?.arguments ?? '';
    }
    expect(JSON.parse(args)).toEqual({ to: '[EMAIL]' });
  });

  it('reversible (key override): the provider sees only numbered placeholders; the caller gets its values back', async () => {
    let sentToProvider = '';
    up.answer.next = (body) => {
      sentToProvider = JSON.stringify(body);
      return {
        json: completion({
          content:
            'I will mail [EMAIL_1] and call [PHONE_1] about card [CREDIT_CARD_1]; [EMAIL_9] is unknown.',
          tool_calls: [
            {
              id: 'call_1',
              type: 'function',
              function: { name: 'send', arguments: '{"to":"[EMAIL_1]","ssn":"[SSN_1]","phone":"[PHONE_1]"}' },
            },
          ],
        }),
      };
    };
    const r = await client('reversible').chat.completions.create({
      model: 'gpt-test',
      messages: [
        { role: 'user', content: `Mail ${EMAIL}, call ${PHONE}, card ${CARD}, again ${EMAIL}` },
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            {
              id: 'c0',
              type: 'function',
              function: { name: 'lookup', arguments: JSON.stringify({ email: EMAIL, ssn: SSN }) },
            },
          ],
        },
      ],
    });
    expectNoValue(sentToProvider);
    expectNoValue(lastSeen().raw);
    const msgs = lastSeen().body.messages as SentMessage[];
    expect(msgs[0]?.content).toBe('Mail [EMAIL_1], call [PHONE_1], card [CREDIT_CARD_1], again [EMAIL_1]');
    expect(JSON.parse(msgs[1]?.tool_calls?.[0]?.function.arguments as string)).toEqual({
      email: '[EMAIL_1]',
      ssn: '[SSN_1]',
    });
    const m = r.choices[0]?.message;
    expect(m?.content).toBe(
      `I will mail ${EMAIL} and call ${PHONE} about card ${CARD}; [EMAIL_9] is unknown.`,
    );
    expect(JSON.parse(argsOf(m))).toEqual({
      to: EMAIL,
      ssn: SSN,
      phone: PHONE,
    });
  });

  it('reversible, streamed: placeholders split across chunks are put back, in tool-call arguments too', async () => {
    up.answer.next = () => ({
      sse: [
        event({ role: 'assistant', content: 'Mail [EMA' }),
        event({ content: 'IL_1] or call [PHONE_' }),
        event({ content: '1]. Bye [' }),
        event(toolDelta('{"to":"[EM', true)),
        event(toolDelta('AIL_1]","phone":"[PHONE_1]"}')),
        event({}, 'tool_calls'),
        'data: [DONE]\n\n',
      ],
    });
    const { content, args, all } = await rawStream(srv.baseUrl, keys.reversible as string, {
      model: 'gpt-test',
      messages: [{ role: 'user', content: `Mail ${EMAIL} or call ${PHONE}` }],
    });
    expectNoValue(lastSeen().raw);
    expect(content).toBe(`Mail ${EMAIL} or call ${PHONE}. Bye [`);
    expect(JSON.parse(args)).toEqual({ to: EMAIL, phone: PHONE });
    expect(all).not.toContain('[EMAIL_1]');
  });

  it('org reversible with redactCompletions: own values come back, items the model made up stay masked', async () => {
    await settings({ redactionMode: 'reversible', redactCompletions: true });
    up.answer.next = () => ({
      json: completion({ content: 'Your mail is [EMAIL_1]; mine is other.person@example.org.' }),
    });
    const r = await client('inherit').chat.completions.create({
      model: 'gpt-test',
      messages: [{ role: 'user', content: `I am ${EMAIL}` }],
    });
    expect(lastSeen().body.messages[0]?.content).toBe('I am [EMAIL_1]');
    expect(r.choices[0]?.message.content).toBe(`Your mail is ${EMAIL}; mine is [EMAIL].`);
    // Key overrides win over the org: mask mode, answers not redacted.
    await client('mask').chat.completions.create({
      model: 'gpt-test',
      messages: [{ role: 'user', content: `I am ${EMAIL}` }],
    });
    expect(lastSeen().body.messages[0]?.content).toBe('I am [EMAIL]');
    up.answer.next = () => ({ json: completion({ content: `call ${PHONE}` }) });
    const off = await client('answersOff').chat.completions.create({
      model: 'gpt-test',
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(off.choices[0]?.message.content).toBe(`call ${PHONE}`);
    await settings({ redactionMode: 'mask', redactCompletions: false });
    const on = await client('answersOn').chat.completions.create({
      model: 'gpt-test',
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(on.choices[0]?.message.content).toBe('call [PHONE]');
  });

  it('no planted value (nor the placeholder map) in logs, usage audit, audit API or any table', async () => {
    await srv.rampart.services.usageAudit.flush();
    const audit = await api('GET', `/api/orgs/${orgId}/audit?limit=500`);
    const entries = audit.body.entries as Array<{ action: string; meta: Record<string, unknown> }>;
    const usage = entries.filter((e) => e.action === 'llm.completion');
    expect(usage.length).toBeGreaterThanOrEqual(8);
    expect(usage.some((e) => e.meta.redactionMode === 'reversible')).toBe(true);
    const everything = JSON.stringify(audit.body) + srv.logs.join('');
    expectNoValue(everything);
    expect(everything).not.toContain('[EMAIL_1]');
    for (const v of [EMAIL, '555-0134', CARD, SSN])
      expect(await tablesContaining(srv.rampart.services.db, v)).toEqual([]);
  });
});
