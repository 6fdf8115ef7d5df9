/**
 * RAMPART_LOG_DIR: every log line also goes to a daily file (pino-roll, in-process), redacted exactly like stdout,
 * in a 0700 directory with 0600 files; files past RAMPART_LOG_RETENTION_DAYS are deleted at start and after each
 * rotation; a directory that cannot be created or written refuses to start, naming the variable.
 *
 * The server tests pass their own log destination (as every suite does): the file must be written all the same,
 * and must hold the very bytes that destination received.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BIN, cleanEnv, client, ROOT, runCli, signupAccount } from '@rampart/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { createRampart } from '../src/app.js';
import { ConfigError, loadConfig } from '../src/platform/config.js';
import { createLogger, openLogFiles, removeExpiredLogFiles } from '../src/platform/logger.js';
import { startTestServer } from './helpers.js';

const NO_STACK = /^\s+at .+:\d+:\d+\)?$/m;
const LOG_NAME = /^rampart\.\d{4}-\d{2}-\d{2}\.\d+\.log$/;

const root = mkdtempSync(join(tmpdir(), 'rampart-logfiles-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshPath = (tag: string) => join(root, `${tag}-${++n}`);

const canary = (tag: string) => `${tag}-${randomBytes(12).toString('base64url')}`;

/** The local calendar day `offset` days from today, as pino-roll writes it in file names. */
function day(offset: number, from = new Date()): string {
  const d = new Date(from.getFullYear(), from.getMonth(), from.getDate() + offset);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

const mode = (path: string) => statSync(path).mode & 0o777;
const logFilesIn = (dir: string) => readdirSync(dir).filter((f) => LOG_NAME.test(f));

/** Each needle as UTF-8 and in the encodings a careless log call could use. */
function needles(secrets: Record<string, string>): [string, Buffer][] {
  return Object.entries(secrets).flatMap(([name, v]) => [
    [name, Buffer.from(v)] as [string, Buffer],
    [`${name} (base64)`, Buffer.from(Buffer.from(v).toString('base64'))] as [string, Buffer],
    [`${name} (base64url)`, Buffer.from(Buffer.from(v).toString('base64url'))] as [string, Buffer],
    [`${name} (hex)`, Buffer.from(Buffer.from(v).toString('hex'))] as [string, Buffer],
  ]);
}

async function until(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

describe('RAMPART_LOG_DIR: log files', () => {
  it('a server writes every line to a 0600 file in a new 0700 directory, redacted exactly like stdout', async () => {
    const dir = join(freshPath('srv'), 'nested', 'logs'); // missing, parents too: all created
    const srv = await startTestServer('pglite', {
      LOG_LEVEL: 'trace',
      RAMPART_LOG_DIR: dir,
      RAMPART_TRUST_PROXY: '127.0.0.1',
    });
    const reqIds: string[] = [];
    const secrets: Record<string, string> = {};
    try {
      const c = client(srv.baseUrl);
      const password = `${canary('Pw')}!9`;
      secrets.password = password;
      const a = await signupAccount(c, 'logfile', password);
      const key = await c.post<{ key: string }>(`/api/orgs/${a.orgId}/api-keys`, { name: 'ci' }, a.token);
      expect(key.status).toBe(201);
      secrets['API key'] = key.body.key;
      secrets['session token'] = a.token;
      const track = (r: { headers: Headers }) => {
        const id = r.headers.get('x-request-id');
        expect(id).toBeTruthy();
        reqIds.push(id ?? '');
      };
      // Authorization: Bearer <API key>.
      const models = await c.get('/v1/models', key.body.key);
      expect(models.status).toBe(200);
      track(models);
      // A password in a login body, right and wrong.
      const login = await c.post('/api/auth/login', { email: a.email, password });
      expect(login.status).toBe(200);
      track(login);
      secrets['mistyped password'] = `${password}x`;
      const bad = await c.post('/api/auth/login', { email: a.email, password: `${password}x` });
      expect(bad.status).toBe(401);
      track(bad);
      // A secret PUT value.
      secrets['org secret'] = `sk-${canary('OrgSecret')}`;
      const put = await c.call('PUT', `/api/orgs/${a.orgId}/secrets/OPENAI_API_KEY`, {
        token: a.token,
        body: { value: secrets['org secret'] },
      });
      expect(put.status).toBe(200);
      track(put);
      // A token in a query string.
      secrets['query token'] = canary('QueryToken');
      const q = await c.get(`/api/auth/verify-email?token=${secrets['query token']}`);
      track(q);
      // A careless log call through the real logger: redaction must apply before the file sees it.
      secrets['logged password'] = canary('LoggedPw');
      secrets['logged value'] = canary('LoggedValue');
      secrets['logged authorization'] = canary('LoggedAuth');
      srv.rampart.services.logger.info(
        {
          password: secrets['logged password'],
          body: { value: secrets['logged value'] },
          headers: { authorization: `Bearer ${secrets['logged authorization']}` },
        },
        'careless log call',
      );
      srv.rampart.services.logger.trace('trace probe');

      // Live: current.log points at the file being written, which already has the lines.
      const link = join(dir, 'current.log');
      expect(lstatSync(link).isSymbolicLink()).toBe(true);
      expect(readlinkSync(link)).toMatch(LOG_NAME);
      expect(readFileSync(link, 'utf8')).toContain('careless log call');
    } finally {
      await srv.close(); // closes (flushes) the file
    }

    // Permissions: directory 0700 (and the parents created with it), files 0600 (the umask test is below).
    expect(mode(dir)).toBe(0o700);
    expect(mode(join(dir, '..'))).toBe(0o700);
    const files = logFilesIn(dir);
    expect(files).toHaveLength(1);
    const file = join(dir, files[0] ?? '');
    expect(mode(file)).toBe(0o600);
    expect(files[0]).toContain(`rampart.${day(0)}.`);

    const bytes = readFileSync(file);
    const text = bytes.toString('utf8');
    // The file holds what the test's destination (stdout in production) received, byte for byte.
    expect(text).toBe(srv.logs.join(''));
    // Request lines: each request's "incoming request" and "request completed", by request id.
    const lines = text.split('\n').filter(Boolean);
    for (const id of reqIds) {
      expect(lines.filter((l) => l.includes(`"reqId":"${id}"`)).length, id).toBeGreaterThanOrEqual(2);
    }
    expect(text).toContain('/api/auth/login');
    // Trace lines reach the file too (a multistream entry's default level, info, would drop them).
    expect(text).toMatch(/"level":10,[^\n]*"msg":"trace probe"/);
    expect(text).toMatch(/"password":"\[redacted\]".*"msg":"careless log call"/);
    expect(text).toContain('/api/auth/verify-email?[redacted]');

    const found = needles(secrets)
      .filter(([, needle]) => bytes.includes(needle))
      .map(([name]) => name);
    expect(found).toEqual([]);
  });

  it('at start, deletes the files whose day is past retention and nothing else; existing files become 0600', async () => {
    const dir = freshPath('start');
    mkdirSync(dir, { mode: 0o700 });
    const expired = [`rampart.${day(-8)}.1.log`, `rampart.${day(-8)}.2.log`, `rampart.${day(-400)}.1.log`];
    const kept = [
      `rampart.${day(-7)}.1.log`, // the last day inside a 7-day window
      `rampart.${day(-1)}.1.log`,
      'notes.txt',
      `rampart.${day(-30)}.1.log.gz`, // not a name pino-roll writes: never touched
      `other.${day(-30)}.1.log`,
    ];
    for (const f of [...expired, ...kept]) writeFileSync(join(dir, f), 'old line\n', { mode: 0o644 });
    mkdirSync(join(dir, `rampart.${day(-90)}.1.log`)); // a directory with a log's name: not a file, kept
    // A restart the same day appends to that day's file (pino-roll continues from the highest counter).
    const today = `rampart.${day(0)}.2.log`;
    writeFileSync(join(dir, today), 'earlier today\n', { mode: 0o644 });

    const srv = await startTestServer('pglite', { RAMPART_LOG_DIR: dir, RAMPART_LOG_RETENTION_DAYS: '7' });
    await srv.close();

    for (const f of expired) expect(existsSync(join(dir, f)), f).toBe(false);
    for (const f of kept) expect(existsSync(join(dir, f)), f).toBe(true);
    expect(existsSync(join(dir, `rampart.${day(-90)}.1.log`))).toBe(true);
    // An existing directory's mode is the operator's; an existing file reopened is tightened to 0600.
    expect(readlinkSync(join(dir, 'current.log'))).toBe(today);
    expect(mode(join(dir, today))).toBe(0o600);
    expect(readFileSync(join(dir, today), 'utf8')).toMatch(/^earlier today\n\{"level"/);
  });

  it('rotation opens a new 0600 file, moves current.log, and deletes the files past retention', async () => {
    const dir = freshPath('rotate');
    // A umask that would leave the directory and files unwritable: the modes must not depend on it.
    const umask = process.umask(0o377);
    const logFiles = await openLogFiles({ dir, retentionDays: 3, rotateEveryMs: 250 }).finally(() =>
      process.umask(umask),
    );
    expect(mode(dir)).toBe(0o700);
    expect(mode(logFiles.current())).toBe(0o600);
    const logger = createLogger({ level: 'info', files: logFiles.stream, destination: { write() {} } });
    try {
      const first = logFiles.current();
      logger.info({ password: 'before-rotation-secret' }, 'before rotation');
      // Dropped after start, so only a rotation's clean-up can remove them.
      const expired = join(dir, `rampart.${day(-4)}.1.log`);
      const kept = join(dir, `rampart.${day(-3)}.1.log`);
      writeFileSync(expired, 'x\n');
      writeFileSync(kept, 'x\n');

      process.umask(0o377);
      await until(() => logFiles.current() !== first, 'a rotation').finally(() => process.umask(umask));
      await until(() => !existsSync(expired), 'the clean-up after the rotation');
      expect(existsSync(kept)).toBe(true);

      logger.info('after rotation');
      const second = logFiles.current();
      await until(() => mode(second) === 0o600, 'chmod of the new file');
      expect(readlinkSync(join(dir, 'current.log'))).toMatch(LOG_NAME);
      expect(readFileSync(first, 'utf8')).toContain('before rotation');
      expect(readFileSync(first, 'utf8')).not.toContain('before-rotation-secret');
      expect(readFileSync(first, 'utf8')).not.toContain('after rotation');
    } finally {
      await logFiles.close();
    }
    // After close, lines are dropped rather than thrown (a late log call must never crash the caller).
    expect(() => logger.info('after close')).not.toThrow();
    const all = logFilesIn(dir).map((f) => readFileSync(join(dir, f), 'utf8'));
    expect(all.join('')).toContain('after rotation');
    expect(all.join('')).not.toContain('after close');
  });

  it('a failing rotation (directory removed) is reported, not per line and never thrown; logging goes on', async () => {
    const dir = freshPath('gone');
    const errors: string[] = [];
    const logFiles = await openLogFiles({
      dir,
      retentionDays: 3,
      rotateEveryMs: 200,
      onError: (m) => errors.push(m),
    });
    const lines: string[] = [];
    const logger = createLogger({
      files: logFiles.stream,
      destination: { write: (l: string) => lines.push(l) },
    });
    try {
      rmSync(dir, { recursive: true, force: true });
      await until(() => errors.length > 0, 'the error report');
      for (let i = 0; i < 50; i++) logger.info({ i }, 'still logging');
      await sleep(500); // a few more failed rotations
      // One report per failed rotation at most (lines written to the old descriptor in between end a spell).
      expect(errors.length).toBeLessThan(10);
      for (const e of errors) {
        expect(e).toBe(
          'RAMPART_LOG_DIR: writing or rotating the log file failed (ENOENT); stdout logging continues',
        );
      }
      expect(lines.filter((l) => l.includes('still logging'))).toHaveLength(50);
    } finally {
      await logFiles.close();
    }
  });

  it('retention boundary: on day T, a file of day D goes when D < T - RAMPART_LOG_RETENTION_DAYS', async () => {
    const dir = freshPath('boundary');
    mkdirSync(dir);
    const now = new Date(2025, 2, 31, 12); // 31 March (local), across the DST change in many zones
    for (const d of ['2025-02-28', '2025-03-01', '2025-03-02', '2025-03-31']) {
      writeFileSync(join(dir, `rampart.${d}.1.log`), 'x\n');
    }
    expect(await removeExpiredLogFiles(dir, 30, now)).toEqual(['rampart.2025-02-28.1.log']);
    expect(await removeExpiredLogFiles(dir, 1, now)).toEqual(
      expect.arrayContaining(['rampart.2025-03-01.1.log', 'rampart.2025-03-02.1.log']),
    );
    expect(readdirSync(dir).sort()).toEqual(['rampart.2025-03-31.1.log']);
  });
});

describe('RAMPART_LOG_DIR / RAMPART_LOG_RETENTION_DAYS configuration', () => {
  it('validates the retention (integer days, 1..3650, default 90) and the directory path', () => {
    expect(loadConfig({}).RAMPART_LOG_RETENTION_DAYS).toBe(90);
    expect(loadConfig({}).RAMPART_LOG_DIR).toBeUndefined();
    expect(loadConfig({ RAMPART_LOG_RETENTION_DAYS: '3650' }).RAMPART_LOG_RETENTION_DAYS).toBe(3650);
    for (const bad of ['0', '3651', '1.5', 'ninety', '-1']) {
      expect(() => loadConfig({ RAMPART_LOG_RETENTION_DAYS: bad }), bad).toThrow(
        /RAMPART_LOG_RETENTION_DAYS/,
      );
    }
    expect(() => loadConfig({ RAMPART_LOG_DIR: '/var/log/ram:part' })).toThrow(/RAMPART_LOG_DIR/);
  });

  it('an existing directory writable by group or others is refused (symlinks could be planted in it)', async () => {
    for (const m of [0o777, 0o770, 0o1777]) {
      const dir = freshPath('open');
      mkdirSync(dir);
      chmodSync(dir, m);
      const err = await openLogFiles({ dir, retentionDays: 1 }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err, m.toString(8)).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toContain('RAMPART_LOG_DIR: must not be writable by group or others');
      expect(readdirSync(dir)).toEqual([]);
    }
  });

  it('a directory that cannot be created refuses to start with a ConfigError naming RAMPART_LOG_DIR', async () => {
    const file = join(freshPath('blocker'), 'a-file');
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(file, 'not a directory\n');
    const config = loadConfig({
      NODE_ENV: 'test',
      RAMPART_MASTER_KEYS: `test1:${Buffer.alloc(32, 7).toString('base64')}`,
      RAMPART_JWT_SECRET: Buffer.alloc(32, 9).toString('base64'),
      RAMPART_LOG_DIR: join(file, 'logs'),
    });
    const err = await createRampart({ config, ephemeral: {} }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems).toEqual([
      expect.stringMatching(/^RAMPART_LOG_DIR: cannot create or write the log directory \(ENOTDIR\)$/),
    ]);
  });
});

describe('`rampart start` with RAMPART_LOG_DIR', () => {
  it('stdout unchanged, the file holds the same lines, flushed and closed on SIGTERM', async () => {
    const base = freshPath('cli-ok');
    mkdirSync(base);
    const logDir = join(base, 'logs');
    const child = spawn(process.execPath, [BIN, 'start'], {
      cwd: ROOT,
      env: cleanEnv({
        NODE_ENV: 'development',
        PORT: '0',
        RAMPART_DATA_DIR: join(base, 'data'),
        RAMPART_LOG_DIR: logDir,
      }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const exited = new Promise<number | null>((done) => child.once('close', (code) => done(code)));
    try {
      await until(
        () => stdout.includes('Rampart listening on'),
        `the listening line (stderr: ${stderr})`,
        45_000,
      );
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
    const files = logFilesIn(logDir);
    expect(files).toHaveLength(1);
    const text = readFileSync(join(logDir, files[0] ?? ''), 'utf8');
    expect(text).toContain('Rampart listening on');
    expect(text).toContain('shutting down');
    expect(text).toBe(stdout);
  }, 60_000);

  it('an unwritable RAMPART_LOG_DIR exits 2 naming it, no stack trace, nothing written', async () => {
    const base = freshPath('cli');
    mkdirSync(base);
    const file = join(base, 'a-file');
    writeFileSync(file, 'not a directory\n');
    const dataDir = join(base, 'data');
    const { code, stdout, stderr } = await runCli(['start'], {
      env: cleanEnv({
        NODE_ENV: 'development',
        PORT: '0',
        RAMPART_DATA_DIR: dataDir,
        RAMPART_LOG_DIR: join(file, 'logs'),
      }),
    });
    expect(code).toBe(2);
    expect(stderr).toContain('RAMPART_LOG_DIR');
    expect(stderr).toContain('ENOTDIR');
    expect(stderr + stdout).not.toMatch(NO_STACK);
    // Checked before anything else: no development key generated, no database created.
    expect(existsSync(dataDir)).toBe(false);
  }, 30_000);
});
