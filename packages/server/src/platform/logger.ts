import type { EventEmitter } from 'node:events';
import { accessSync, chmodSync, constants, fchmodSync, mkdirSync, statSync } from 'node:fs';
import { lstat, readdir, unlink } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import pino, { type DestinationStream, type Logger } from 'pino';
import { ConfigError } from './config.js';

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
  /**
   * Also write every line here (RAMPART_LOG_DIR's rotating file, see {@link openLogFiles}). It receives the
   * very bytes `destination` (or stdout) receives: redaction and serializers run once, before either.
   */
  files?: DestinationStream;
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

/**
 * Properties a database error may carry that hold the statement and its bound values (PGlite's errors carry
 * `query`, `params` and `queryOptions`): a visitor's message, a document's text or a sealed value's plaintext
 * context. Never logged; the engine strips them too (db/engine-pglite.ts), this is the second line.
 */
const STATEMENT_FIELDS = ['query', 'params', 'queryOptions', 'parameters'] as const;

function serializeError(err: Error): ReturnType<typeof pino.stdSerializers.err> {
  const out = pino.stdSerializers.err(err) as ReturnType<typeof pino.stdSerializers.err> &
    Record<string, unknown>;
  for (const k of STATEMENT_FIELDS) delete out[k];
  if (typeof out.message === 'string') out.message = scrubUrls(out.message);
  if (typeof out.stack === 'string') out.stack = scrubUrls(out.stack);
  return out;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  // Each stream passes every level (the logger's own level filters): multistream's default per stream is info.
  const destination = opts.files
    ? pino.multistream([
        { level: 'trace', stream: opts.destination ?? pino.destination(1) },
        { level: 'trace', stream: opts.files },
      ])
    : opts.destination;
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
    destination,
  );
}

/** The part of pino-roll's stream (a sonic-boom) used here; pino-roll ships no type definitions. */
interface RollStream extends EventEmitter {
  write(data: string): boolean;
  end(): void;
  readonly fd: number;
  readonly file: string | null;
  readonly destroyed: boolean;
  destroy(): void;
}
type PinoRoll = (opts: Record<string, unknown>) => Promise<RollStream>;
const pinoRoll = createRequire(import.meta.url)('pino-roll') as PinoRoll;

/** The names pino-roll gives our files: `rampart.<local date>.<counter>.log`. Nothing else is ever deleted. */
const LOG_FILE = /^rampart\.(\d{4}-\d{2}-\d{2})\.\d+\.log$/;
/** Lines held in memory while the file cannot be written (disk full...); beyond this they are dropped. */
const MAX_BUFFERED_BYTES = 16 * 1024 * 1024;

export interface LogFilesOptions {
  /** RAMPART_LOG_DIR: created (mode 0700) if missing. */
  dir: string;
  /** RAMPART_LOG_RETENTION_DAYS. */
  retentionDays: number;
  /** Tests only: rotate every this many milliseconds instead of at local midnight. */
  rotateEveryMs?: number;
  /** Where write, rotation and clean-up failures are reported; default stderr (never the logger: it would loop). */
  onError?: (message: string) => void;
}

export interface LogFiles {
  /** Pass to {@link createLogger} as `files`. Lines written after {@link LogFiles.close} are dropped. */
  stream: DestinationStream;
  /** The file being written now. */
  current(): string;
  /** Deletes the files past retention; runs at open and after every rotation. Resolves to the names removed. */
  sweep(): Promise<string[]>;
  /** Flushes and closes the file; idempotent. */
  close(): Promise<void>;
}

function localDay(d: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

function errorCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : err instanceof Error ? err.name : 'unknown error';
}

/**
 * Deletes the log files in `dir` whose day ended more than `retentionDays` days ago: on day T every
 * `rampart.<D>.<n>.log` with D before T - retentionDays goes, so today's file and the previous `retentionDays`
 * days' files stay. Only regular files with pino-roll's names are touched.
 * @returns the names removed
 */
export async function removeExpiredLogFiles(
  dir: string,
  retentionDays: number,
  now = new Date(),
): Promise<string[]> {
  const cutoff = localDay(new Date(now.getFullYear(), now.getMonth(), now.getDate() - retentionDays));
  const removed: string[] = [];
  for (const name of await readdir(dir)) {
    const day = LOG_FILE.exec(name)?.[1];
    if (day === undefined || day >= cutoff) continue;
    const path = join(dir, name);
    try {
      if (!(await lstat(path)).isFile()) continue;
      await unlink(path);
      removed.push(name);
    } catch (err) {
      if (errorCode(err) !== 'ENOENT') throw err;
    }
  }
  return removed;
}

/**
 * Opens RAMPART_LOG_DIR's rotating log file (pino-roll, in-process, so the logger's redaction has run before
 * a line reaches it): `rampart.<local date>.<n>.log`, a new file at each local midnight, `current.log` a symlink
 * to the file being written. The directory is created with mode 0700 when missing; every file is chmod-ed to
 * 0600 after it is opened (created with that mode too, so it is never looser, whatever the umask). Files whose
 * day is past retention are deleted now and after each rotation ({@link removeExpiredLogFiles}).
 * @throws ConfigError naming RAMPART_LOG_DIR when the directory cannot be created or written
 */
export async function openLogFiles(opts: LogFilesOptions): Promise<LogFiles> {
  const dir = resolve(opts.dir);
  const report = opts.onError ?? ((m: string) => process.stderr.write(`rampart: ${m}\n`));
  let stream: RollStream | undefined;
  try {
    // Every directory created here (the parents too) gets exactly 0700, whatever the umask.
    const first = mkdirSync(dir, { recursive: true, mode: 0o700 });
    for (let d = dir; first !== undefined; d = dirname(d)) {
      chmodSync(d, 0o700);
      if (d === first || d === dirname(d)) break;
    }
    // Whoever can write the directory can plant a symlink under the next file's name and have the server
    // append logs to (and chmod) a file of their choosing.
    if (statSync(dir).mode & 0o022) {
      throw new ConfigError(['RAMPART_LOG_DIR: must not be writable by group or others (chmod 0700 it)']);
    }
    accessSync(dir, constants.W_OK | constants.X_OK);
    stream = await pinoRoll({
      file: join(dir, 'rampart'),
      extension: 'log',
      frequency: opts.rotateEveryMs ?? 'daily',
      dateFormat: 'yyyy-MM-dd',
      symlink: true,
      // Synchronous writes: nothing is buffered to lose on a crash or process.exit, and a rotation opens the
      // next file before returning (so the clean-up that follows sees it).
      sync: true,
      mode: 0o600,
      maxLength: MAX_BUFFERED_BYTES,
    });
    fchmodSync(stream.fd, 0o600);
  } catch (err) {
    stream?.destroy();
    if (err instanceof ConfigError) throw err;
    throw new ConfigError([`RAMPART_LOG_DIR: cannot create or write the log directory (${errorCode(err)})`]);
  }
  const roll = stream;
  let closed = false;
  // One report per failure spell (until a line is written again): a full disk would otherwise print per line.
  let failing = false;
  const fail = (what: string, why: string) => {
    if (failing) return;
    failing = true;
    report(`RAMPART_LOG_DIR: ${what} failed (${why}); stdout logging continues`);
  };
  const sweep = async () => {
    try {
      return await removeExpiredLogFiles(dir, opts.retentionDays);
    } catch (err) {
      fail('deleting expired log files', errorCode(err));
      return [];
    }
  };
  roll.on('error', (err: unknown) => fail('writing or rotating the log file', errorCode(err)));
  roll.on('write', () => {
    failing = false;
  });
  roll.on('drop', () => fail('writing the log file', 'buffer full, lines dropped'));
  // Emitted after every open: the first one and each rotation's.
  roll.on('ready', () => {
    if (closed || roll.destroyed) return;
    try {
      fchmodSync(roll.fd, 0o600);
    } catch (err) {
      fail('chmod 0600 of the log file', errorCode(err));
    }
    void sweep();
  });
  await sweep();
  return {
    stream: {
      write(line: string) {
        if (!closed && !roll.destroyed) roll.write(line);
      },
    },
    current: () => roll.file ?? '',
    sweep,
    close: async () => {
      if (closed) return;
      closed = true;
      if (roll.destroyed) return;
      await new Promise<void>((done) => {
        roll.once('close', () => done());
        roll.once('error', () => done());
        roll.end();
      });
    },
  };
}
