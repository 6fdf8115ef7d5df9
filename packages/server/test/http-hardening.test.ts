/**
 * The hardened HTTP surface (platform/http.ts), exercised through a real listening server and real sockets:
 * security headers, request ids, body limits, content types, the one error model, deadlines, OpenAPI,
 * graceful shutdown and log hygiene. HTTP behaviour does not depend on the database engine, so PGlite only.
 */
import { once } from 'node:events';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import type { Database } from '../src/db/database.js';
import { ERROR_STATUS, type ErrorCode } from '../src/platform/errors.js';
import type { App } from '../src/platform/http.js';
import { startTestServer, type TestServer } from './helpers.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const BODY_LIMIT = 10 * 1024 * 1024;
/** Distinctive strings: if one shows up in a response or a log line, it leaked from where we planted it. */
const FAKE_SECRET = 'sk_live_FAKE_SECRET_5f2c9e71';
const SUBMITTED_VALUE = 'SUBMITTED_VALUE_9d1b44';

/** A JSON document of exactly `bytes` bytes that satisfies the test route's schema. */
function jsonOfSize(bytes: number): Buffer {
  const frame = '{"name":"","pad":""}';
  return Buffer.from(`{"name":"x","pad":"${'a'.repeat(bytes - frame.length - 1)}"}`);
}

interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  json(): unknown;
}

/**
 * One request over a fresh connection with node:http (fetch cannot send a body without a Content-Length or
 * observe an early answer cleanly). A server may answer before it has read the whole body and then drop the
 * connection: a write error after the response arrived is expected, so only an error without one rejects.
 */
function rawRequest(
  baseUrl: string,
  path: string,
  opts: { method?: string; headers?: Record<string, string>; body?: Buffer; chunked?: boolean } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    let responded = false;
    const req = httpRequest(
      new URL(path, baseUrl),
      {
        method: opts.method ?? 'GET',
        agent: false,
        headers: {
          ...(opts.body && !opts.chunked ? { 'content-length': String(opts.body.length) } : {}),
          ...opts.headers,
        },
      },
      (res) => {
        responded = true;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) });
        });
      },
    );
    req.on('error', (err) => {
      if (!responded) reject(err);
    });
    if (opts.body && opts.chunked) {
      // Chunked upload: no Content-Length, so the server can only enforce the limit while reading.
      const chunk = 1024 * 1024;
      for (let i = 0; i < opts.body.length; i += chunk) req.write(opts.body.subarray(i, i + chunk));
      req.end();
    } else {
      req.end(opts.body);
    }
  });
}

/**
 * Every error the server sends has exactly `{error, message, requestId}` (+ `issues` for validation), a code
 * from the registry, the registry's status, and the response's own request id.
 */
function expectErrorShape(
  status: number,
  requestIdHeader: string | null | undefined,
  body: unknown,
  code: ErrorCode,
): Record<string, unknown> {
  expect(body).toBeTypeOf('object');
  const b = body as Record<string, unknown>;
  expect(
    Object.keys(b)
      .filter((k) => k !== 'issues')
      .sort(),
  ).toEqual(['error', 'message', 'requestId']);
  expect(Object.keys(ERROR_STATUS)).toContain(b.error);
  expect(b.error).toBe(code);
  expect(status).toBe(ERROR_STATUS[code]);
  expect(b.message).toBeTypeOf('string');
  expect(b.message).not.toBe('');
  expect(b.requestId).toMatch(UUID);
  expect(b.requestId).toBe(requestIdHeader);
  if ('issues' in b) expect(Array.isArray(b.issues)).toBe(true);
  return b;
}

async function expectError(res: Response, code: ErrorCode): Promise<Record<string, unknown>> {
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  return expectErrorShape(res.status, res.headers.get('x-request-id'), await res.json(), code);
}

function expectRawError(res: RawResponse, code: ErrorCode): Record<string, unknown> {
  const id = res.headers['x-request-id'];
  return expectErrorShape(res.status, typeof id === 'string' ? id : undefined, res.json(), code);
}

/** Parsed captured log lines (pino JSON). */
function logLines(server: TestServer): Array<Record<string, unknown>> {
  return server.logs.flatMap((chunk) =>
    chunk
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>),
  );
}

/** Waits for the "request completed" line of a request: pino writes it when the response finishes. */
async function waitForCompletion(server: TestServer, requestId: string): Promise<void> {
  await vi.waitFor(
    () => {
      expect(logLines(server).some((l) => l.reqId === requestId && l.msg === 'request completed')).toBe(true);
    },
    { timeout: 5_000, interval: 20 },
  );
}

/** What the slow test route saw, so a test can check its deadline signal afterwards. */
const seen: { slowSignal?: AbortSignal } = {};

function testRoutes(app: App): void {
  app.post('/test/echo', { schema: { body: z.object({ name: z.string().min(1) }) } }, async (request) => ({
    name: request.body.name,
  }));
  app.get('/test/boom', async () => {
    throw new Error(`could not connect with password ${FAKE_SECRET}`);
  });
  app.get('/test/client-error-with-secret', async () => {
    // A 4xx thrown by a dependency, carrying a secret in its message: the status survives, the text must not.
    throw Object.assign(new Error(`bad token ${FAKE_SECRET}`), { statusCode: 400 });
  });
  app.get('/test/slow', { config: { timeoutMs: 200 } }, async (request) => {
    seen.slowSignal = request.deadlineSignal;
    // A handler that ignores its deadline: the client must still get a 504 at the deadline, not wait 2 s.
    await sleep(2_000);
    return { late: true };
  });
}

describe('hardened HTTP server', () => {
  let server: TestServer;
  let base: string;

  beforeAll(async () => {
    server = await startTestServer('pglite', {}, testRoutes);
    base = server.baseUrl;
  });
  afterAll(async () => {
    await server?.close();
  });

  describe('security headers (helmet)', () => {
    const expectHelmet = (headers: Headers) => {
      const hsts = headers.get('strict-transport-security') ?? '';
      const maxAge = Number(/max-age=(\d+)/.exec(hsts)?.[1] ?? 0);
      expect(maxAge).toBeGreaterThanOrEqual(31_536_000);
      expect(headers.get('x-frame-options')).toBe('DENY');
      expect(headers.get('x-content-type-options')).toBe('nosniff');
      expect(headers.get('cross-origin-resource-policy')).toBe('same-origin');
      expect(headers.get('cross-origin-opener-policy')).toBe('same-origin');
      const csp = (headers.get('content-security-policy') ?? '').split(';').map((d) => d.trim());
      expect(csp).toContain("default-src 'none'");
      expect(csp).toContain("frame-ancestors 'none'");
    };

    it('are set on a successful response (/healthz)', async () => {
      const res = await fetch(`${base}/healthz`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ ok: true });
      expectHelmet(res.headers);
      expect(res.headers.get('cache-control')).toBe('no-store');
    });

    it('are set on an error response (404)', async () => {
      const res = await fetch(`${base}/no/such/route`);
      await expectError(res, 'not_found');
      expectHelmet(res.headers);
    });

    it('are set on a 500 and a 504', async () => {
      expectHelmet((await fetch(`${base}/test/boom`)).headers);
      expectHelmet((await fetch(`${base}/test/slow`)).headers);
    });
  });

  describe('request ids', () => {
    it('every response carries a UUID x-request-id, equal to the error body requestId', async () => {
      const ok = await fetch(`${base}/healthz`);
      expect(ok.headers.get('x-request-id')).toMatch(UUID);

      const notFound = await fetch(`${base}/nope`);
      await expectError(notFound, 'not_found');

      const invalid = await fetch(`${base}/test/echo`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      await expectError(invalid, 'validation_failed');

      const tooLarge = await rawRequest(base, '/test/echo', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: jsonOfSize(BODY_LIMIT + 1),
      });
      expect(tooLarge.headers['x-request-id']).toMatch(UUID);
      expectRawError(tooLarge, 'payload_too_large');
    });

    it('ids are unique across 50 concurrent requests', async () => {
      const responses = await Promise.all(Array.from({ length: 50 }, () => fetch(`${base}/healthz`)));
      const ids = responses.map((r) => r.headers.get('x-request-id'));
      for (const id of ids) expect(id).toMatch(UUID);
      expect(new Set(ids).size).toBe(50);
    });

    it('log forging: a client-sent x-request-id is never echoed or logged', async () => {
      for (const forged of ['forged-request-id-7731', '00000000-0000-4000-8000-000000000000']) {
        const res = await fetch(`${base}/healthz`, { headers: { 'x-request-id': forged } });
        const id = res.headers.get('x-request-id');
        expect(id).toMatch(UUID);
        expect(id).not.toBe(forged);
        const err = await fetch(`${base}/nope`, { headers: { 'x-request-id': forged } });
        expect(((await err.json()) as { requestId: string }).requestId).not.toBe(forged);
        await waitForCompletion(server, id ?? '');
        expect(server.logs.join('')).not.toContain(forged);
      }
    });

    it("the request id is on that request's log lines", async () => {
      const res = await fetch(`${base}/healthz`);
      const id = res.headers.get('x-request-id') ?? '';
      await waitForCompletion(server, id);
      const lines = logLines(server).filter((l) => l.reqId === id);
      expect(lines.map((l) => l.msg)).toEqual(
        expect.arrayContaining(['incoming request', 'request completed']),
      );
    });
  });

  describe('body limit (10 MiB)', () => {
    it('a body of 10 MiB + 1 byte with Content-Length gets 413 payload_too_large', async () => {
      const res = await rawRequest(base, '/test/echo', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: jsonOfSize(BODY_LIMIT + 1),
      });
      expectRawError(res, 'payload_too_large');
    });

    it('a chunked body (no Content-Length) over the limit also gets 413', async () => {
      const res = await rawRequest(base, '/test/echo', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: jsonOfSize(BODY_LIMIT + 1),
        chunked: true,
      });
      expectRawError(res, 'payload_too_large');
    });

    it('a body of exactly the limit is accepted', async () => {
      const res = await rawRequest(base, '/test/echo', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: jsonOfSize(BODY_LIMIT),
      });
      expect(res.status).toBe(200);
      expect(res.json()).toEqual({ name: 'x' });
    });

    it('a body just under the limit on an unknown route gets 404, not 413', async () => {
      const res = await rawRequest(base, '/no/such/upload', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: jsonOfSize(BODY_LIMIT - 1),
      });
      expectRawError(res, 'not_found');
    });
  });

  describe('content types and validation', () => {
    it('malformed JSON gets 400 validation_failed without echoing the body', async () => {
      const res = await fetch(`${base}/test/echo`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: `{"name": "${SUBMITTED_VALUE}"`,
      });
      const body = await expectError(res, 'validation_failed');
      expect(JSON.stringify(body)).not.toContain(SUBMITTED_VALUE);
    });

    it('an empty JSON body gets 400 validation_failed', async () => {
      const res = await fetch(`${base}/test/echo`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '',
      });
      await expectError(res, 'validation_failed');
    });

    it('a text/plain body gets 415 unsupported_media_type (no CORS-simple content type reaches a JSON route)', async () => {
      const res = await fetch(`${base}/test/echo`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body: JSON.stringify({ name: SUBMITTED_VALUE }),
      });
      const body = await expectError(res, 'unsupported_media_type');
      expect(JSON.stringify(body)).not.toContain(SUBMITTED_VALUE);
    });

    it('other unknown content types get 415 too', async () => {
      for (const type of [
        'application/xml',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
      ]) {
        const res = await fetch(`${base}/test/echo`, {
          method: 'POST',
          headers: { 'content-type': type },
          body: 'name=x',
        });
        await expectError(res, 'unsupported_media_type');
      }
    });

    it('a schema violation gets 400 with issues naming the path, never the submitted value', async () => {
      const res = await fetch(`${base}/test/echo`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: { nested: SUBMITTED_VALUE } }),
      });
      const body = await expectError(res, 'validation_failed');
      const issues = body.issues as Array<Record<string, unknown>>;
      expect(issues.length).toBeGreaterThan(0);
      for (const issue of issues) {
        expect(Object.keys(issue).sort()).toEqual(['in', 'message', 'path']);
        expect(issue.in).toBe('body');
      }
      expect(issues.map((i) => i.path)).toContain('/name');
      expect(JSON.stringify(body)).not.toContain(SUBMITTED_VALUE);
    });

    it('an empty required string is reported at its path', async () => {
      const res = await fetch(`${base}/test/echo`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: '' }),
      });
      const body = await expectError(res, 'validation_failed');
      expect((body.issues as Array<{ path: string }>).map((i) => i.path)).toEqual(['/name']);
    });

    it('a valid body passes', async () => {
      const res = await fetch(`${base}/test/echo`, {
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=utf-8' },
        body: JSON.stringify({ name: 'ada' }),
      });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ name: 'ada' });
    });
  });

  describe('unexpected errors', () => {
    it('a thrown Error becomes 500 internal_error with no stack, no message text and no secret', async () => {
      const res = await fetch(`${base}/test/boom`);
      const text = await res.text();
      expectErrorShape(res.status, res.headers.get('x-request-id'), JSON.parse(text), 'internal_error');
      expect(text).not.toContain(FAKE_SECRET);
      expect(text).not.toContain('password');
      expect(text).not.toContain('Error:');
      expect(text).not.toMatch(/\bat .*:\d+:\d+/);
      expect(text).not.toContain('stack');
    });

    it('a thrown 4xx keeps its status but not its message', async () => {
      const res = await fetch(`${base}/test/client-error-with-secret`);
      const body = await expectError(res, 'validation_failed');
      expect(JSON.stringify(body)).not.toContain(FAKE_SECRET);
    });
  });

  describe('deadlines', () => {
    it('a route over its timeoutMs gets 504 request_timeout at the deadline, and its deadlineSignal aborts', async () => {
      const started = Date.now();
      const res = await fetch(`${base}/test/slow`);
      const elapsed = Date.now() - started;
      await expectError(res, 'request_timeout');
      expect(elapsed).toBeGreaterThanOrEqual(150);
      expect(elapsed).toBeLessThan(1_500);
      expect(seen.slowSignal?.aborted).toBe(true);
      expect(String((seen.slowSignal?.reason as Error | undefined)?.message)).toMatch(/timed out/);
    });
  });

  describe('OpenAPI', () => {
    it('/openapi.json is an OpenAPI 3.1 document listing /healthz', async () => {
      const res = await fetch(`${base}/openapi.json`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      const doc = (await res.json()) as {
        openapi: string;
        info: { title: string; version: string };
        paths: Record<string, Record<string, { responses?: Record<string, unknown> }>>;
      };
      expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
      expect(doc.info.title).toBeTypeOf('string');
      expect(doc.info.version).toBeTypeOf('string');
      expect(doc.paths['/healthz']?.get?.responses?.['200']).toBeDefined();
      const methods = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']);
      for (const [path, item] of Object.entries(doc.paths)) {
        expect(path.startsWith('/')).toBe(true);
        for (const [method, op] of Object.entries(item)) {
          if (!methods.has(method)) continue;
          expect(op.responses, `${method} ${path} has responses`).toBeTypeOf('object');
        }
      }
      // The document itself is hidden from the document.
      expect(doc.paths['/openapi.json']).toBeUndefined();
    });
  });

  describe('logs', () => {
    it('an API key in Authorization and a token in the query string never reach a log line', async () => {
      const apiKey = 'rk_live_SECRETVALUE123';
      const queryToken = 'SECRET456';
      const ids: string[] = [];
      for (const path of [`/healthz?token=${queryToken}`, `/nope?token=${queryToken}`]) {
        const res = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${apiKey}` } });
        ids.push(res.headers.get('x-request-id') ?? '');
      }
      const bad = await fetch(`${base}/test/echo?token=${queryToken}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
        body: '{"name": 1}',
      });
      ids.push(bad.headers.get('x-request-id') ?? '');
      for (const id of ids) await waitForCompletion(server, id);
      const all = server.logs.join('');
      expect(all).not.toContain(apiKey);
      expect(all).not.toContain('SECRETVALUE123');
      expect(all).not.toContain(queryToken);
      // The request was logged, just without its secrets.
      expect(logLines(server).some((l) => l.reqId === ids[0] && l.msg === 'incoming request')).toBe(true);
    });

    it('a token in the URL of a request whose handler answers after its 504 is not logged either', async () => {
      // Fastify logs FST_ERR_REP_ALREADY_SENT with the raw URL when the late handler result arrives.
      const res = await fetch(`${base}/test/slow?token=LATE_SECRET_31e7`);
      expect(res.status).toBe(504);
      const id = res.headers.get('x-request-id') ?? '';
      await vi.waitFor(
        () => {
          expect(logLines(server).some((l) => l.reqId === id && l.level === 40)).toBe(true);
        },
        { timeout: 5_000, interval: 50 },
      );
      const late = logLines(server).filter((l) => l.reqId === id);
      expect(JSON.stringify(late)).not.toContain('LATE_SECRET_31e7');
      expect(JSON.stringify(late)).toContain('/test/slow?[redacted]');
    });
  });
});

describe('graceful shutdown', () => {
  it('close() lets an in-flight request finish, then refuses new connections', async () => {
    let handlerEntered!: () => void;
    const entered = new Promise<void>((r) => {
      handlerEntered = r;
    });
    let handlerFinished = false;
    let db: Database | undefined;
    let server: TestServer | undefined = await startTestServer('pglite', {}, (app) => {
      app.get('/test/drain', async () => {
        handlerEntered();
        await sleep(1_000);
        // Uses the database after close() began: it must stay open until in-flight requests are done.
        const { rows } = await (db as Database).platform((q) => q.query<{ one: number }>('SELECT 1 AS one'));
        handlerFinished = true;
        return { one: rows[0]?.one };
      });
    });
    db = server.rampart.services.db;
    const { baseUrl } = server;
    const listener = server.rampart.app.server;
    try {
      const inFlight = fetch(`${baseUrl}/test/drain`);
      await entered;
      let closed = false;
      const closing = server.close().then(() => {
        closed = true;
      });
      server = undefined;

      // While draining, the listener stops: a new connection is refused.
      await vi.waitFor(() => expect(listener.listening).toBe(false), { timeout: 2_000, interval: 10 });
      await expect(rawRequest(baseUrl, '/healthz')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
      expect(closed).toBe(false);

      const res = await inFlight;
      const answeredAt = Date.now();
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ one: 1 });
      await closing;
      expect(handlerFinished).toBe(true);
      // The in-flight response closed its keep-alive connection, so the drain ends with it, not when the
      // idle socket times out 5 s later.
      expect(Date.now() - answeredAt).toBeLessThan(1_500);

      await expect(fetch(`${baseUrl}/healthz`)).rejects.toMatchObject({ cause: { code: 'ECONNREFUSED' } });
    } finally {
      await server?.close();
    }
  });
});

describe('graceful shutdown: requests already on an open connection', () => {
  it('get 503 service_unavailable in the usual error format, with a request id and security headers', async () => {
    const server = await startTestServer('pglite');
    const socket = connect(Number(new URL(server.baseUrl).port), '127.0.0.1');
    try {
      await once(socket, 'connect');
      const chunks: Buffer[] = [];
      socket.on('data', (c: Buffer) => chunks.push(c));
      const ended = once(socket, 'end');
      // Half a request: the connection is busy, not idle, so close() cannot drop it and must let it finish.
      socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n');
      await sleep(100);
      const closing = server.close();
      await sleep(100);
      socket.write('\r\n');
      await ended;
      await closing;

      const raw = Buffer.concat(chunks).toString('utf8');
      const [head = '', body = ''] = raw.split('\r\n\r\n');
      const [statusLine = '', ...headerLines] = head.split('\r\n');
      const headers = Object.fromEntries(
        headerLines.map((l) => [
          l.slice(0, l.indexOf(':')).toLowerCase(),
          l.slice(l.indexOf(':') + 1).trim(),
        ]),
      );
      expect(statusLine).toMatch(/^HTTP\/1\.1 503 /);
      expect(headers.connection).toBe('close');
      expect(headers['x-frame-options']).toBe('DENY');
      expectErrorShape(503, headers['x-request-id'], JSON.parse(body), 'service_unavailable');
    } finally {
      socket.destroy();
      await server.close().catch(() => {});
    }
  });
});

describe('client IP behind a trusted proxy', () => {
  it('a client cannot choose its IP by prepending to X-Forwarded-For', async () => {
    let seen = '';
    const srv = await startTestServer('pglite', { RAMPART_TRUST_PROXY: '127.0.0.1' }, (app) => {
      app.get('/ip', async (req) => {
        seen = req.ip;
        return { ok: true };
      });
    });
    try {
      await fetch(`${srv.baseUrl}/ip`, { headers: { 'x-forwarded-for': '6.6.6.6, 203.0.113.9' } });
      expect(seen).toBe('203.0.113.9');
    } finally {
      await srv.close();
    }
  });
});
