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

export function createLogger(opts: LoggerOptions = {}): Logger {
  return pino(
    {
      level: opts.level ?? 'info',
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      serializers: {
        req: (req: { method?: string; url?: string; ip?: string }) => ({
          method: req.method,
          url: safeUrl(req.url ?? ''),
          ip: req.ip,
        }),
        res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
        err: pino.stdSerializers.err,
      },
    },
    opts.destination,
  );
}
