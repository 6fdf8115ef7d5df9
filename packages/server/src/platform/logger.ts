import pino, { type DestinationStream, type Logger } from 'pino';

/**
 * Paths pino censors on every line. Request and reply headers are not logged at all (see the serializers
 * below); these catch secrets that reach a log call through objects we log on purpose.
 */
export const REDACT_PATHS = [
  'password',
  '*.password',
  'newPassword',
  '*.newPassword',
  'token',
  '*.token',
  'apiKey',
  '*.apiKey',
  'key',
  '*.key',
  'secret',
  '*.secret',
  'value',
  '*.value',
  'authorization',
  '*.authorization',
  'cookie',
  '*.cookie',
  'recoveryCode',
  '*.recoveryCode',
  'totp',
  '*.totp',
  'connectionString',
  '*.connectionString',
  'headers.authorization',
  'headers.cookie',
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
];

export interface LoggerOptions {
  level?: string;
  /** Tests capture log output here to grep it for secrets. */
  destination?: DestinationStream;
}

/** Drops the query string: tokens in URLs (`?token=`) must not reach the logs. */
export function safeUrl(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : `${url.slice(0, q)}?[redacted]`;
}

/**
 * Drops the query string of every URL path inside free text. Fastify writes raw request URLs into some error
 * messages (FST_ERR_REP_ALREADY_SENT, logged when a handler returns after its deadline's 504 went out), and
 * those reach the log as `err.message`, `err.stack` and `msg`, past the `req` serializer's {@link safeUrl}.
 */
export function scrubUrls(text: string): string {
  return text.replace(/(\/[^\s"'`?#]*)\?[^\s"'`]*/g, '$1?[redacted]');
}

function serializeError(err: Error): ReturnType<typeof pino.stdSerializers.err> {
  const out = pino.stdSerializers.err(err);
  if (typeof out.message === 'string') out.message = scrubUrls(out.message);
  if (typeof out.stack === 'string') out.stack = scrubUrls(out.stack);
  return out;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  return pino(
    {
      level: opts.level ?? 'info',
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      hooks: {
        // Without an explicit message pino copies the raw err.message into `msg`, bypassing the serializer:
        // pass the scrubbed text as the message instead.
        logMethod(args, method) {
          const [first, ...rest] = args as unknown[];
          const err = first instanceof Error ? first : (first as { err?: unknown } | null)?.err;
          if (rest.length === 0 && err instanceof Error) {
            return method.apply(this, [first, scrubUrls(err.message)] as Parameters<typeof method>);
          }
          return method.apply(this, args);
        },
      },
      serializers: {
        req: (req: { method?: string; url?: string; ip?: string }) => ({
          method: req.method,
          url: safeUrl(req.url ?? ''),
          ip: req.ip,
        }),
        res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
        err: serializeError,
      },
    },
    opts.destination,
  );
}
