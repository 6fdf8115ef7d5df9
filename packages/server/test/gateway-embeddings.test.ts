/**
 * POST /v1/embeddings through the official `openai` client, unmodified (issue 24 §1): the upstream sees redacted
 * text and the sealed key, token arrays are refused while redaction is on, data residency, the wrong provider
 * kind, an upstream error passed through, a large answer streamed through with its usage, and the usage audit
 * without text. The upstream is a local stub speaking OpenAI's embeddings wire format (floats or base64).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { api as sessionApi, signup } from '@rampart/testing';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers.js';

interface Seen {
  url: string | undefined;
  headers: IncomingMessage['headers'];
  body: { model: string; input: unknown; encoding_format?: string; dimensions?: number };
}

const UPSTREAM_KEY = 'sk-embed-PLAINTEXT-0123456789abcdef';
const PII = 'Mail bob.smith@example.com or call (415) 555-0134; SSN 123-45-6789.';
const REDACTED = 'Mail [EMAIL] or call [PHONE]; SSN [SSN].';

/** A deterministic vector per input: [index, length of its text, 0.5, ...]. */
const vector = (i: number, input: unknown, dims: number) => {
  const v = new Array<number>(dims).fill(0.5);
  v[0] = i;
  v[1] = typeof input === 'string' ? input.length : Array.isArray(input) ? input.length : 0;
  return v;
};

function startUpstream(): Promise<{ server: Server; port: number; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => {
      raw += c;
    });
    req.on('end', () => {
      const body = JSON.parse(raw) as Seen['body'];
      seen.push({ url: req.url, headers: req.headers, body });
      if (req.url !== '/v1/embeddings') {
        res.writeHead(404, { 'content-type': 'application/json' });
        return void res.end(
          JSON.stringify({ error: { message: 'no such path', type: 'invalid_request_error' } }),
        );
      }
      if (body.model === 'embed-limited') {
        res.writeHead(429, { 'content-type': 'application/json' });
        return void res.end(
          JSON.stringify({
            error: {
              message: 'Rate limit reached for embed-limited',
              type: 'requests',
              param: null,
              code: 'rate_limit_exceeded',
            },
          }),
        );
      }
      const inputs =
        typeof body.input === 'string' || typeof (body.input as unknown[])[0] === 'number'
          ? [body.input]
          : (body.input as unknown[]);
      const dims = body.dimensions ?? 8;
      const data = inputs.map((input, index) => {
        const v = vector(index, input, dims);
        return {
          object: 'embedding',
          index,
          embedding:
            body.encoding_format === 'base64'
              ? Buffer.from(new Float32Array(v).buffer).toString('base64')
              : v,
        };
      });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          object: 'list',
          data,
          model: body.model,
          usage: { prompt_tokens: 3 * inputs.length, total_tokens: 3 * inputs.length },
        }),
      );
    });
  });
  return new Promise((r) =>
    server.listen(0, '127.0.0.1', () => r({ server, port: (server.address() as AddressInfo).port, seen })),
  );
}

/**
 * One engine: this suite tests the embeddings wire protocol, the same code whatever the database. The SQL it
 * touches (providers, keys, settings, usage and audit rows) is tested on both engines by gateway.test.ts,
 * gateway-usage.test.ts, gateway-limits.test.ts and the tenancy suites. PGlite: there in every environment.
 */
describe.each(['pglite' as const])('gateway embeddings (%s)', (engine) => {
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
  /** The same call without the client, for the error message (the client keeps only the code). */
  const raw = async (key: string, body: unknown) => {
    const r = await fetch(`${srv.baseUrl}/v1/embeddings`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: r.status, body: (await r.json()) as { error: string; message: string } };
  };

  beforeAll(async () => {
    up = await startUpstream();
    srv = await startTestServer(engine, { RAMPART_OUTBOUND_ALLOW: '127.0.0.1' });
    ({ token: session, orgId } = await signup(srv.baseUrl, { orgName: 'Embeddings Org' }));
    const put = await api('PUT', `/api/orgs/${orgId}/providers/stub`, {
      baseUrl: `http://127.0.0.1:${up.port}/v1`,
      apiKey: UPSTREAM_KEY,
      models: ['embed-test', 'embed-limited'],
    });
    expect(put.status).toBe(200);
    expect(put.body.kind).toBe('openai');
    const claude = await api('PUT', `/api/orgs/${orgId}/providers/claude`, {
      kind: 'anthropic',
      baseUrl: `http://127.0.0.1:${up.port}`,
      apiKey: 'sk-ant-other-000000',
      models: ['claude-embed'],
    });
    expect(claude.status).toBe(200);
    expect(claude.body.kind).toBe('anthropic');
    for (const [name, extra] of Object.entries({
      inherit: {},
      off: { redaction: 'off' },
      reversible: { redactionMode: 'reversible' },
      eu: { region: 'eu' },
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

  it('the official client works (base64 by default, decoded by the client); the upstream sees redacted text and the sealed key', async () => {
    const r = await client('inherit').embeddings.create({ model: 'embed-test', input: PII });
    expect(r.data).toHaveLength(1);
    // The stub's vector: [index, length of the text it received, 0.5 x 6].
    expect(r.data[0]?.embedding).toEqual([0, REDACTED.length, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]);
    expect(r.usage).toEqual({ prompt_tokens: 3, total_tokens: 3 });
    const seen = lastSeen();
    expect(seen.url).toBe('/v1/embeddings');
    expect(seen.headers.authorization).toBe(`Bearer ${UPSTREAM_KEY}`);
    expect(seen.body.encoding_format).toBe('base64');
    expect(seen.body.input).toBe(REDACTED);
  });

  it('an array of strings: each redacted; floats and dimensions pass through; reversible keys still get fixed placeholders', async () => {
    const r = await client('reversible').embeddings.create({
      model: 'embed-test',
      input: [PII, 'nothing personal'],
      encoding_format: 'float',
      dimensions: 4,
    });
    expect(r.data.map((d) => d.embedding)).toEqual([
      [0, REDACTED.length, 0.5, 0.5],
      [1, 'nothing personal'.length, 0.5, 0.5],
    ]);
    expect(lastSeen().body).toMatchObject({
      input: [REDACTED, 'nothing personal'],
      encoding_format: 'float',
      dimensions: 4,
    });
  });

  it('token-array inputs: refused with 400 while redaction is on (they cannot be read); passed as is when it is off', async () => {
    const before = up.seen.length;
    for (const input of [
      [1, 2, 3],
      [
        [1, 2],
        [3, 4],
      ],
    ]) {
      const err = await client('inherit')
        .embeddings.create({ model: 'embed-test', input })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAI.BadRequestError);
      expect((err as { error: unknown }).error).toBe('validation_failed');
      const r = await raw(keys.inherit as string, { model: 'embed-test', input });
      expect(r.status).toBe(400);
      expect(r.body.message).toMatch(/^Token-array inputs cannot be checked/);
    }
    expect(up.seen.length).toBe(before);
    const ok = await client('off').embeddings.create({ model: 'embed-test', input: [[1, 2, 3]] });
    expect(ok.data[0]?.embedding.slice(0, 2)).toEqual([0, 3]);
    expect(lastSeen().body.input).toEqual([[1, 2, 3]]);
    await client('off').embeddings.create({ model: 'embed-test', input: PII });
    expect(lastSeen().body.input).toBe(PII);
  });

  it('data residency: an eu key is never routed to a us provider (403 region_not_allowed)', async () => {
    const before = up.seen.length;
    const err = await client('eu')
      .embeddings.create({ model: 'embed-test', input: 'x' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect((err as { error: unknown }).error).toBe('region_not_allowed');
    expect(up.seen.length).toBe(before);
  });

  it('a model of an anthropic-kind provider is a clear 400 naming the right route; unknown model 404; bad body 400', async () => {
    const before = up.seen.length;
    const err = await client('inherit')
      .embeddings.create({ model: 'claude-embed', input: 'x' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as { error: unknown }).error).toBe('validation_failed');
    const r = await raw(keys.inherit as string, { model: 'claude-embed', input: 'x' });
    expect(r.body.message).toMatch(/anthropic-kind provider: call POST \/v1\/messages/);
    const missing = await client('inherit')
      .embeddings.create({ model: 'nope', input: 'x' })
      .catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(OpenAI.NotFoundError);
    for (const body of [
      { model: 'embed-test' },
      { model: 'embed-test', input: [] },
      { model: 'embed-test', input: [1.5] },
      { model: 'embed-test', input: 'x', encoding_format: 'hex' },
    ]) {
      const bad = await raw(keys.inherit as string, body);
      expect(bad.status).toBe(400);
      expect(bad.body.error).toBe('validation_failed');
    }
    expect(up.seen.length).toBe(before);
  });

  it("an upstream error passes through with its status and OpenAI's error body", async () => {
    const err = await client('inherit')
      .embeddings.create({ model: 'embed-limited', input: 'x' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    expect((err as { code: unknown }).code).toBe('rate_limit_exceeded');
    expect((err as Error).message).toContain('Rate limit reached for embed-limited');
  });

  it('a large answer (2,048 inputs) streams through whole, and its usage is read off the end', async () => {
    const input = Array.from({ length: 2_048 }, (_, i) => `text number ${i}`);
    const r = await client('inherit').embeddings.create({
      model: 'embed-test',
      input,
      encoding_format: 'float',
      dimensions: 64,
    });
    expect(r.data).toHaveLength(2_048);
    expect(r.data[2_047]?.embedding.slice(0, 2)).toEqual([2_047, 'text number 2047'.length]);
    expect(r.usage.total_tokens).toBe(3 * 2_048);
    await srv.rampart.services.usageAudit.flush();
    const audit = await api('GET', `/api/orgs/${orgId}/audit?action=llm.embedding&limit=500`);
    const last = (audit.body.entries as Array<{ meta: Record<string, unknown> }>).at(-1);
    expect(last?.meta).toMatchObject({ inputs: 2_048, usage: { prompt: 3 * 2_048, total: 3 * 2_048 } });
  });

  it('audits usage per call (key, model, provider, region, status, tokens) and never the text or the key', async () => {
    await client('inherit').embeddings.create({ model: 'embed-test', input: 'secret words xyzzy' });
    await srv.rampart.services.usageAudit.flush();
    const audit = await api('GET', `/api/orgs/${orgId}/audit?action=llm.embedding&limit=500`);
    const entries = audit.body.entries as Array<{ apiKeyId: string; meta: Record<string, unknown> }>;
    const last = entries.at(-1) as { apiKeyId: string; meta: Record<string, unknown> };
    expect(last.apiKeyId).toMatch(/^[0-9a-f-]{36}$/);
    expect(last.meta).toMatchObject({
      api: 'embeddings',
      model: 'embed-test',
      provider: 'stub',
      region: 'us',
      status: 200,
      inputs: 1,
      redacted: true,
      usage: { prompt: 3, total: 3 },
    });
    expect(typeof last.meta.latencyMs).toBe('number');
    // The refused and failed calls have rows too (429 passed through).
    expect(entries.some((e) => e.meta.status === 429)).toBe(true);
    const everything = JSON.stringify(audit.body) + srv.logs.join('');
    for (const needle of ['xyzzy', 'bob.smith', '555-0134', UPSTREAM_KEY])
      expect(everything).not.toContain(needle);
  });

  it('sessions cannot call it, and x-api-key is not accepted here (only on /v1/messages)', async () => {
    const body = JSON.stringify({ model: 'embed-test', input: 'x' });
    for (const headers of [{ authorization: `Bearer ${session}` }, { 'x-api-key': keys.inherit as string }]) {
      const r = await fetch(`${srv.baseUrl}/v1/embeddings`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body,
      });
      expect(r.status).toBe(401);
    }
    const chat = await fetch(`${srv.baseUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'x-api-key': keys.inherit as string, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'embed-test', messages: [{ role: 'user', content: 'x' }] }),
    });
    expect(chat.status).toBe(401);
  });
});
