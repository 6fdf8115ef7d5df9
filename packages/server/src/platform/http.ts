import { randomUUID } from 'node:crypto';
import helmet from '@fastify/helmet';
import swagger from '@fastify/swagger';
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import {
  hasZodFastifySchemaValidationErrors,
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import { z } from 'zod';
import { isDatabaseUnavailable } from '../db/unavailable.js';
import { AppError, type ErrorCode } from './errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Aborted when the request times out or the client goes away: pass it to outbound calls. */
    deadlineSignal: AbortSignal;
    /** Moves this request's deadline (the gateway gives reasoning models 120 s once it knows the model). */
    setDeadline(ms: number): void;
  }
  interface FastifyContextConfig {
    /** Per-route request timeout in ms, overriding the server default. */
    timeoutMs?: number;
  }
}

export type App = FastifyInstance<
  import('node:http').Server,
  import('node:http').IncomingMessage,
  import('node:http').ServerResponse,
  Logger,
  ZodTypeProvider
>;

export interface HttpOptions {
  logger: Logger;
  bodyLimit: number;
  requestTimeoutMs: number;
  trustProxy: false | string[];
  version: string;
}

/** The JSON error body every failure uses. */
export const errorBody = z.object({
  error: z.string(),
  message: z.string(),
  requestId: z.string().optional(),
});

const STATUS_CODE: Record<number, ErrorCode> = {
  400: 'validation_failed',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'not_found',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
  503: 'service_unavailable',
};

function sendError(
  reply: FastifyReply,
  status: number,
  code: ErrorCode,
  message: string,
  extra: object = {},
) {
  return reply
    .code(status)
    .type('application/json; charset=utf-8')
    .send({ error: code, message, ...extra, requestId: reply.request.id });
}

const timers = new WeakMap<FastifyRequest, { timer: NodeJS.Timeout; controller: AbortController }>();

function armDeadline(request: FastifyRequest, reply: FastifyReply, ms: number): void {
  const state = timers.get(request);
  if (!state) return;
  clearTimeout(state.timer);
  state.timer = setTimeout(() => {
    state.controller.abort(new Error('request timed out'));
    if (!reply.sent && !reply.raw.headersSent) {
      sendError(
        reply,
        504,
        'request_timeout',
        `The request did not complete within ${Math.round(ms / 1000)} s`,
      );
    }
  }, ms);
  state.timer.unref();
}

/** helmet's configuration: API responses are JSON, nothing may be loaded or framed. HTML surfaces (the dashboard)
 * set their own Content-Security-Policy per route. */
const HELMET = {
  contentSecurityPolicy: {
    useDefaults: false,
    directives: {
      defaultSrc: ["'none'"],
      frameAncestors: ["'none'"],
      baseUri: ["'none'"],
      formAction: ["'none'"],
    },
  },
  strictTransportSecurity: { maxAge: 31_536_000, includeSubDomains: true },
  frameguard: { action: 'deny' as const },
  crossOriginResourcePolicy: { policy: 'same-origin' as const },
  crossOriginOpenerPolicy: { policy: 'same-origin' as const },
  referrerPolicy: { policy: 'no-referrer' as const },
};

/**
 * The headers helmet sets with {@link HELMET}, read once from a throwaway Fastify instance with and without the
 * plugin: exactly what the plugin would set on each response, without running it per request.
 */
async function securityHeaders(): Promise<[string, string | number | string[]][]> {
  const probe = async (withHelmet: boolean) => {
    const f = Fastify();
    if (withHelmet) await f.register(helmet, HELMET);
    f.get('/', async () => 'ok');
    const res = await f.inject({ method: 'GET', url: '/' });
    await f.close();
    return res.headers;
  };
  const [bare, secured] = await Promise.all([probe(false), probe(true)]);
  const out = Object.entries(secured).filter(
    (e): e is [string, string | number | string[]] => e[1] !== undefined && !(e[0] in bare),
  );
  if (!out.some(([name]) => name === 'content-security-policy'))
    throw new Error('helmet set no Content-Security-Policy: the security headers could not be read');
  return out;
}

/**
 * The hardened Fastify instance every surface registers its routes on: security headers, request ids,
 * body limit, deadlines, zod validation, one error model, and OpenAPI generated from the route schemas.
 */
export async function createHttpServer(opts: HttpOptions): Promise<App> {
  const app = Fastify({
    loggerInstance: opts.logger,
    bodyLimit: opts.bodyLimit,
    genReqId: () => randomUUID(),
    // Never trust a client-supplied request id: it would let a caller forge log correlation.
    requestIdHeader: false,
    trustProxy: opts.trustProxy,
    // Not Fastify's built-in 503 while closing: it is written before any hook runs, so it carried no
    // x-request-id, no security headers and an error code outside ERROR_STATUS. The onRequest hook below
    // answers 503 service_unavailable in the usual error format instead.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    // Node-level guard against slow clients trickling headers/bodies (slowloris).
    requestTimeout: opts.requestTimeoutMs + 5_000,
    connectionTimeout: 0,
    keepAliveTimeout: 5_000,
    routerOptions: { ignoreTrailingSlash: false, maxParamLength: 200 },
    // Router-level refusals (an undecodable path, a parameter over maxParamLength) would otherwise be answered by
    // Fastify's default, which echoes the path (a path may carry a token) and uses codes outside ERROR_STATUS.
    frameworkErrors: (_err, _request, reply) =>
      sendError(
        reply,
        400,
        'validation_failed',
        'The request path is not valid (bad encoding or a parameter too long)',
      ),
    // Errors Node's HTTP parser raises before any request exists (oversized headers, malformed request lines):
    // answered in the same error format, with a fresh request id, then the connection is closed.
    clientErrorHandler: (err: NodeJS.ErrnoException, socket) => {
      if (!socket.writable) return socket.destroy();
      const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
      const status = tooLarge ? 431 : 400;
      const body = JSON.stringify({
        error: tooLarge ? 'headers_too_large' : 'validation_failed',
        message: tooLarge
          ? 'The request headers (or the URL) are too large'
          : 'The request could not be parsed',
        requestId: randomUUID(),
      });
      socket.end(
        `HTTP/1.1 ${status} ${tooLarge ? 'Request Header Fields Too Large' : 'Bad Request'}\r\n` +
          `content-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
          `connection: close\r\n\r\n${body}`,
      );
    },
  }).withTypeProvider<ZodTypeProvider>() as unknown as App;

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  // Fastify parses text/plain by default. It is a CORS-safelisted content type, so a page on any origin can
  // POST it without a preflight; API routes take JSON, so refuse it (415). A surface that really takes text
  // (documents, webhooks) registers its own parser inside its own encapsulated plugin.
  app.removeContentTypeParser('text/plain');

  // The security headers are the same on every response: computed once, then set in one hook. (Registered as a
  // plugin, @fastify/helmet builds its whole middleware chain, CSP parsing included, on every request.)
  const security = await securityHeaders();
  app.addHook('onRequest', (_request, reply, done) => {
    for (const [name, value] of security) reply.raw.setHeader(name, value);
    done();
  });

  // PostgreSQL text and jsonb cannot hold U+0000: a NUL anywhere in an API or widget request would fail at the
  // first INSERT with a 500. A lone UTF-16 surrogate (JSON's "\ud800") is not text either: UTF-8 cannot encode
  // it, and sealing or storing it failed with a 500 too. Both are refused up front, for every route of those
  // surfaces (the gateway's /v1 bodies are relayed, not stored, and are not walked).
  app.addHook('preValidation', async (request) => {
    const url = request.url;
    if (!url.startsWith('/api/') && !url.startsWith('/widget/')) return;
    const where = badTextPath(request.body, '') ?? badTextPath(request.query, '');
    if (where !== null)
      throw new AppError(
        'validation_failed',
        'Text may not contain NUL characters (U+0000) or unpaired surrogates',
        {
          details: {
            issues: [{ in: 'body', path: where || '/', message: 'contains U+0000 or a lone surrogate' }],
          },
        },
      );
  });

  app.decorateRequest('deadlineSignal', null as unknown as AbortSignal);
  app.decorateRequest('setDeadline', function (this: FastifyRequest, _ms: number) {});

  // Set when close() begins draining (preClose runs before the listener stops).
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    reply.header('cache-control', 'no-store');
    if (closing) {
      // A new request on a connection that was already open when the drain began: send the client (or load
      // balancer) elsewhere, and close the connection after this answer.
      reply.header('connection', 'close');
      return sendError(reply, 503, 'service_unavailable', 'The server is shutting down; retry the request');
    }
    const controller = new AbortController();
    request.deadlineSignal = controller.signal;
    timers.set(request, { timer: setTimeout(() => {}, 0), controller });
    request.setDeadline = (ms: number) => armDeadline(request, reply, ms);
    armDeadline(request, reply, request.routeOptions.config.timeoutMs ?? opts.requestTimeoutMs);
    // A client that disconnects before we answer aborts downstream work too.
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) controller.abort(new Error('client closed the connection'));
    });
  });
  const disarm = async (request: FastifyRequest) => {
    const state = timers.get(request);
    if (state) clearTimeout(state.timer);
  };
  app.addHook('onResponse', disarm);
  app.addHook('onRequestAbort', disarm);
  app.addHook('onSend', async (_request, reply, payload) => {
    // While draining, in-flight responses close their connection too: keep-alive clients reconnect (to another
    // node) instead of sending more requests here, and close() is not held up by idle sockets.
    if (closing) reply.header('connection', 'close');
    return payload;
  });

  // The path is not echoed: it may carry a token (`/reset/<token>`).
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, 404, 'not_found', `No route for ${request.method} on this path`),
  );

  app.setErrorHandler((err: FastifyError | AppError, request, reply) => {
    if (reply.sent) return;
    if (err instanceof AppError) {
      reply.headers(err.headers);
      return sendError(reply, err.status, err.code, err.message, err.details ?? {});
    }
    if (hasZodFastifySchemaValidationErrors(err)) {
      const where = (err as FastifyError).validationContext ?? 'body';
      return sendError(reply, 400, 'validation_failed', `Invalid request ${where}`, {
        issues: err.validation.map((v) => ({
          in: where,
          path: v.instancePath || '/',
          message: v.message ?? 'invalid',
        })),
      });
    }
    switch (err.code) {
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return sendError(
          reply,
          413,
          'payload_too_large',
          `Request body exceeds ${request.routeOptions.bodyLimit ?? opts.bodyLimit} bytes`,
        );
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return sendError(
          reply,
          415,
          'unsupported_media_type',
          request.url.startsWith('/api/orgs/') && request.url.includes('/skills')
            ? 'Unsupported content-type; send the package as application/octet-stream'
            : 'Unsupported content-type; send application/json',
        );
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
        return sendError(reply, 400, 'validation_failed', 'Request body is empty; send a JSON body');
      case 'FST_ERR_CTP_INVALID_JSON_BODY':
        return sendError(reply, 400, 'validation_failed', 'Request body is not valid JSON');
    }
    const status = err.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      // Fastify's own client errors (bad JSON, bad content-length...): generic text, never the raw message.
      const code = STATUS_CODE[status] ?? 'validation_failed';
      const message =
        err instanceof SyntaxError ? 'Request body is not valid JSON' : 'The request could not be processed';
      return sendError(reply, status, code, message);
    }
    if (isDatabaseUnavailable(err)) {
      // The request was fine; the database is down, restarting or full. A write whose COMMIT was cut off may or
      // may not have landed, as with any lost answer: clients retry idempotent requests.
      request.log.warn({ err }, 'database unavailable');
      reply.header('retry-after', '2');
      return sendError(reply, 503, 'service_unavailable', 'The database is unavailable; retry shortly');
    }
    request.log.error({ err }, 'unhandled error');
    return sendError(reply, 500, 'internal_error', 'Internal error; quote the request id when reporting it');
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Rampart API',
        version: opts.version,
        description: 'See docs/ in the Rampart repository',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'Session JWT or API key' },
        },
      },
    },
    transform: jsonSchemaTransform,
  });

  app.get(
    '/healthz',
    {
      schema: {
        summary: 'Liveness',
        tags: ['platform'],
        response: { 200: z.object({ ok: z.literal(true) }) },
      },
    },
    async () => ({ ok: true as const }),
  );
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  return app;
}

/** U+0000, or a high surrogate not followed by a low one, or a low one not preceded by a high one. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const badText = (t: string) => t.includes('\u0000') || LONE_SURROGATE.test(t);

/**
 * The JSON path of the first string (or key) holding U+0000 or an unpaired surrogate in `v`, or null.
 * Depth-bounded: bodies are parsed JSON.
 */
function badTextPath(v: unknown, path: string, depth = 0): string | null {
  if (typeof v === 'string') return badText(v) ? path : null;
  if (v === null || typeof v !== 'object' || depth > 64) return null;
  for (const [k, x] of Object.entries(v)) {
    const p = `${path}/${k}`;
    if (badText(k)) return p;
    const found = badTextPath(x, p, depth + 1);
    if (found !== null) return found;
  }
  return null;
}
