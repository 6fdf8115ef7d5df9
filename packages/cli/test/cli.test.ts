/**
 * The built `rampart` command, run as a real process: help and usage errors, `start` (dev key generation,
 * health, SIGTERM drain, PGlite lock release), refusal to start in production without keys, config errors,
 * and maintenance commands against a data directory a running server holds.
 *
 * Runs packages/cli/dist/bin.js, so build first (`npm test` does: its pretest runs `tsc -b`).
 */

import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeyRing, openString } from '@rampart/core/seal';
import { openDatabase } from '@rampart/server';
import { BIN, cleanEnv, type CliRun as Run, runCli, spawnCli } from '@rampart/testing';
import { migratedDataDir } from '@rampart/testing/datadir';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';

/** Starting a fresh PGlite data directory (WASM boot + migrations) takes several seconds on a busy machine. */
const START_TIMEOUT_MS = 45_000;

const running = new Set<ChildProcess>();
const tempDirs: string[] = [];

function tempDataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'rampart-cli-'));
  tempDirs.push(dir);
  return dir;
}

/**
 * A data directory whose embedded database is already migrated (no keys yet), for the tests about something
 * else than a first start: each would otherwise spend ~5 s in PGlite's initdb. The first `start` test keeps an
 * empty directory, so creating and migrating a new one stays covered through the real command.
 */
function migratedTempDataDir(): string {
  return migratedDataDir(tempDataDir());
}

/** The test's environment minus anything Rampart reads, so the parent's settings cannot leak in. */
function cliEnv(dataDir: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  // Vitest sets NODE_ENV=test, which would silence the server's logs; the CLI's default is development.
  return cleanEnv({ NODE_ENV: 'development', RAMPART_DATA_DIR: dataDir, ...extra });
}

function rampart(args: string[], env: NodeJS.ProcessEnv): Run {
  const run = spawnCli(args, env);
  running.add(run.child);
  void run.exited.then(() => running.delete(run.child));
  return run;
}

/** Rejects if the process does not exit within `ms`. */
async function exitWithin(
  run: Run,
  ms: number,
): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no exit within ${ms} ms\nstdout:\n${run.stdout()}\nstderr:\n${run.stderr()}`)),
      ms,
    );
  });
  try {
    return await Promise.race([run.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Waits until stdout or stderr matches `pattern`; rejects if the process exits first or time runs out. */
async function waitForOutput(run: Run, pattern: RegExp, ms = START_TIMEOUT_MS): Promise<RegExpExecArray> {
  const deadline = Date.now() + ms;
  for (;;) {
    const match = pattern.exec(run.stdout()) ?? pattern.exec(run.stderr());
    if (match) return match;
    if (run.child.exitCode !== null || run.child.signalCode !== null) {
      throw new Error(`exited (${run.child.exitCode ?? run.child.signalCode}) before printing ${pattern}:
stdout:\n${run.stdout()}\nstderr:\n${run.stderr()}`);
    }
    if (Date.now() > deadline) {
      throw new Error(`no ${pattern} within ${ms} ms:\nstdout:\n${run.stdout()}\nstderr:\n${run.stderr()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Starts `rampart start` on an ephemeral port and returns its base URL once it is listening. */
async function startServer(dataDir: string): Promise<{ run: Run; baseUrl: string }> {
  const run = rampart(['start'], cliEnv(dataDir, { PORT: '0' }));
  const match = await waitForOutput(run, /Rampart listening on (http:\/\/127\.0\.0\.1:\d+)/);
  return { run, baseUrl: match[1] ?? '' };
}

const NO_STACK = /^\s+at .+:\d+:\d+\)?$/m;

beforeAll(() => {
  if (!existsSync(BIN))
    throw new Error(`${BIN} is missing: run \`npx tsc -b\` (npm test does it in pretest)`);
});

afterEach(async () => {
  // Whatever a test left running dies here, so a failed assertion never leaks a server holding a port or lock.
  await Promise.all(
    [...running].map(
      (child) =>
        new Promise<void>((resolve) => {
          child.once('close', () => resolve());
          child.kill('SIGKILL');
        }),
    ),
  );
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('rampart --help and usage errors', () => {
  it('--help exits 0 and lists start and admin', async () => {
    const run = rampart(['--help'], cliEnv(tempDataDir()));
    expect(await exitWithin(run, 15_000)).toEqual({ code: 0, signal: null });
    expect(run.stdout()).toMatch(/^\s+start\b/m);
    expect(run.stdout()).toMatch(/^\s+admin\b/m);
  });

  it('admin --help lists audit, rotate-keys and backfill-secrets', async () => {
    const run = rampart(['admin', '--help'], cliEnv(tempDataDir()));
    expect(await exitWithin(run, 15_000)).toEqual({ code: 0, signal: null });
    expect(run.stdout()).toMatch(/^\s+audit\b/m);
    expect(run.stdout()).toMatch(/^\s+rotate-keys\b/m);
    expect(run.stdout()).toMatch(/^\s+backfill-secrets\b/m);
  });

  it('an unknown command exits 2 and says what was wrong and where to look', async () => {
    const run = rampart(['frobnicate'], cliEnv(tempDataDir()));
    const { code } = await exitWithin(run, 15_000);
    expect(code).toBe(2);
    expect(run.stderr()).toContain("unknown command 'frobnicate'");
    expect(run.stderr()).toContain('--help');
    expect(run.stderr()).not.toMatch(NO_STACK);
  });
});

describe('rampart usage errors exit 2 in every subcommand; help and --version exit 0', () => {
  const cases: Array<[string, string[], RegExp]> = [
    [
      'an unknown option of a subcommand',
      ['admin', 'audit', 'verify', '--bogus'],
      /unknown option '--bogus'/,
    ],
    ['a missing required option', ['admin', 'mail', 'test'], /required option '--to <address>'/],
    ['a missing argument', ['pack'], /missing required argument 'dir'/],
    ['too many arguments', ['admin', 'rotate-keys', 'extra'], /too many arguments/],
  ];
  for (const [what, args, message] of cases) {
    it(what, async () => {
      const r = await runCli(args, { env: cliEnv(tempDataDir()) });
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(NO_STACK);
    });
  }

  it('--version and -v print the version before a subcommand only', async () => {
    for (const flag of ['--version', '-v']) {
      const r = await runCli([flag], { env: cliEnv(tempDataDir()) });
      expect(r.code).toBe(0);
      expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    }
    // After a subcommand it is that subcommand's business: admin has no --version, so it is a usage error.
    const after = await runCli(['admin', 'audit', 'verify', '--version'], { env: cliEnv(tempDataDir()) });
    expect(after.code).toBe(2);
    expect(after.stderr).toMatch(/unknown option '--version'/);
  });
});

describe('rampart start', () => {
  it('generates dev keys (0600, with a warning), serves /healthz, and drains on SIGTERM releasing the lock', async () => {
    const dataDir = tempDataDir();
    const { run, baseUrl } = await startServer(dataDir);

    const res = await fetch(`${baseUrl}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });

    const masterKey = join(dataDir, 'master.key');
    expect(statSync(masterKey).mode & 0o777).toBe(0o600);
    expect(statSync(join(dataDir, 'jwt.secret')).mode & 0o777).toBe(0o600);
    expect(`${run.stdout()}${run.stderr()}`).toMatch(/SECURITY WARNING: generated a development master key/);
    const lock = join(dataDir, 'data', 'rampart.lock');
    expect(existsSync(lock)).toBe(true);

    run.child.kill('SIGTERM');
    expect(await exitWithin(run, 10_000)).toEqual({ code: 0, signal: null });
    expect(existsSync(lock)).toBe(false);
  }, 60_000);

  it('refuses to start in production without keys, naming both variables, without a stack trace', async () => {
    const dataDir = tempDataDir();
    const run = rampart(['start'], cliEnv(dataDir, { NODE_ENV: 'production', PORT: '0' }));
    const { code } = await exitWithin(run, 15_000);
    expect(code).not.toBe(0);
    expect(run.stderr()).toContain('RAMPART_MASTER_KEYS');
    expect(run.stderr()).toContain('RAMPART_JWT_SECRET');
    expect(run.stderr()).not.toMatch(NO_STACK);
    expect(existsSync(join(dataDir, 'master.key'))).toBe(false);
  });

  it('a port already in use: exits non-zero at once and releases the data directory lock', async () => {
    const squatter = createServer();
    squatter.listen(0, '127.0.0.1');
    await once(squatter, 'listening');
    try {
      const address = squatter.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      const dataDir = migratedTempDataDir();
      const run = rampart(['start'], cliEnv(dataDir, { PORT: String(port) }));
      await waitForOutput(run, /EADDRINUSE/);
      const failedAt = Date.now();
      const { code } = await exitWithin(run, 10_000);
      expect(code).not.toBe(0);
      // Closing the database on the way out is what makes the exit prompt (it lingered ~10 s before).
      expect(Date.now() - failedAt).toBeLessThan(3_000);
      expect(existsSync(join(dataDir, 'data', 'rampart.lock'))).toBe(false);
      expect(run.stderr()).not.toMatch(NO_STACK);
    } finally {
      squatter.close();
    }
  }, 60_000);

  it('PORT=99999 exits 2 with a message naming PORT', async () => {
    const run = rampart(['start'], cliEnv(tempDataDir(), { PORT: '99999' }));
    expect(await exitWithin(run, 15_000)).toEqual({ code: 2, signal: null });
    expect(run.stderr()).toMatch(/PORT: /);
    expect(run.stderr()).not.toContain('99999');
    expect(run.stderr()).not.toMatch(NO_STACK);
  });
});

describe('rampart admin audit verify', () => {
  it('exits 0 on a fresh data directory', async () => {
    const run = rampart(['admin', 'audit', 'verify'], cliEnv(migratedTempDataDir()));
    expect(await exitWithin(run, START_TIMEOUT_MS)).toEqual({ code: 0, signal: null });
    expect(run.stdout()).toContain('0 chain(s) checked, 0 with problems');
  }, 60_000);

  it('refuses, without crashing, a PGlite data directory a running server holds', async () => {
    const dataDir = migratedTempDataDir();
    const { run: server, baseUrl } = await startServer(dataDir);

    const verify = rampart(['admin', 'audit', 'verify'], cliEnv(dataDir));
    const { code, signal } = await exitWithin(verify, 20_000);
    expect(signal).toBeNull();
    expect(code).not.toBe(0);
    expect(verify.stderr()).toMatch(/in use by process \d+/);
    expect(verify.stderr()).toContain(join(dataDir, 'data'));
    expect(verify.stderr()).not.toMatch(NO_STACK);

    // The refusal left the server and its lock alone.
    expect((await fetch(`${baseUrl}/healthz`)).status).toBe(200);
    expect(existsSync(join(dataDir, 'data', 'rampart.lock'))).toBe(true);
    server.child.kill('SIGTERM');
    expect((await exitWithin(server, 10_000)).code).toBe(0);
  }, 60_000);
});

describe('rampart admin backfill-secrets', () => {
  it('seals legacy plaintext with progress and a summary, then finds nothing on a second run (--json)', async () => {
    const dataDir = migratedTempDataDir();
    const keys = `t1:${Buffer.alloc(32, 3).toString('base64')}`;
    const env = cliEnv(dataDir, { RAMPART_MASTER_KEYS: keys });
    const orgId = randomUUID();
    const secretId = randomUUID();
    const userId = randomUUID();
    const secret = 'sk-legacy-plaintext-cli-0123456789';
    const totp = 'JBSWY3DPLEGACYCLITOTP';
    // Seed as an older Rampart would have left them: plaintext in sealed columns.
    const seeded = await openDatabase({ dataDir });
    try {
      await seeded.db.platform(async (q) => {
        await q.query(`INSERT INTO orgs (id, name) VALUES ($1, 'legacy')`, [orgId]);
        await q.query(
          `INSERT INTO users (id, email, totp_secret_sealed) VALUES ($1, 'legacy@example.test', $2)`,
          [userId, totp],
        );
      });
      await seeded.db.org(orgId, (q) =>
        q.query(
          `INSERT INTO org_secrets (id, org_id, name, value_sealed, masked) VALUES ($1, $2, 'legacy', $3, '')`,
          [secretId, orgId, secret],
        ),
      );
    } finally {
      await seeded.db.close();
    }

    const run = rampart(['admin', 'backfill-secrets'], env);
    expect(await exitWithin(run, START_TIMEOUT_MS)).toEqual({ code: 0, signal: null });
    expect(run.stdout()).toContain('sealed 2 legacy plaintext value(s) under key "t1"');
    expect(run.stdout()).toMatch(/^ {2}org_secrets\.value_sealed: 1$/m);
    expect(run.stdout()).toMatch(/^ {2}users\.totp_secret_sealed: 1$/m);
    expect(run.stderr()).toMatch(/^org_secrets\.value_sealed: 1\/1$/m); // progress (plain lines off a TTY)
    for (const out of [run.stdout(), run.stderr()]) {
      expect(out).not.toContain(secret);
      expect(out).not.toContain(totp);
    }

    const again = rampart(['admin', 'backfill-secrets', '--json'], env);
    expect(await exitWithin(again, START_TIMEOUT_MS)).toEqual({ code: 0, signal: null });
    const summary = JSON.parse(again.stdout()) as {
      key: string;
      sealed: number;
      columns: { sealed: number }[];
    };
    expect(summary).toMatchObject({ key: 't1', sealed: 0 });
    expect(summary.columns.length).toBeGreaterThan(0);
    expect(summary.columns.every((c) => c.sealed === 0)).toBe(true);

    // The values now open under the configured key, each in its own context.
    const reopened = await openDatabase({ dataDir });
    try {
      const ring = KeyRing.parse(keys);
      const { rows } = await reopened.db.org(orgId, (q) =>
        q.query<{ v: string }>('SELECT value_sealed AS v FROM org_secrets WHERE id = $1', [secretId]),
      );
      expect(
        openString(ring, rows[0]?.v ?? '', {
          orgId,
          table: 'org_secrets',
          column: 'value_sealed',
          rowId: secretId,
        }),
      ).toBe(secret);
      const user = await reopened.db.platform((q) =>
        q.query<{ v: string }>('SELECT totp_secret_sealed AS v FROM users WHERE id = $1', [userId]),
      );
      expect(
        openString(ring, user.rows[0]?.v ?? '', {
          orgId: null,
          table: 'users',
          column: 'totp_secret_sealed',
          rowId: userId,
        }),
      ).toBe(totp);
    } finally {
      await reopened.db.close();
    }
  }, 120_000);
});

describe('rampart seal-connection and reseal-connection', () => {
  const conn = 'postgres://report:s3cret-PLAINTEXT@db.internal.example:5432/sales';
  const sealWith = async (args: string[], env: Record<string, string>, stdin?: string) => {
    const r = await runCli(args, {
      env: { ...process.env, ...env },
      ...(stdin === undefined ? {} : { stdin }),
    });
    return { code: r.code, out: r.stdout, err: r.stderr };
  };

  it('seals from standard input with the key from the environment; reseals for a new key; the old key no longer opens it', async () => {
    const { openConnection } = await import('@rampart/core/connseal');
    const sealed = await sealWith(['seal-connection', '-'], { RAMPART_API_KEY: 'rk_old_key_0001' }, conn);
    expect(sealed.code, sealed.err).toBe(0);
    const envelope = JSON.parse(sealed.out);
    expect(envelope.kdf).toEqual({ name: 'PBKDF2', hash: 'SHA-256', iterations: 600_000 });
    expect(sealed.out).not.toContain('s3cret');
    expect(await openConnection('rk_old_key_0001', envelope)).toBe(conn);
    const resealed = await sealWith(
      ['reseal-connection', '-'],
      { RAMPART_OLD_API_KEY: 'rk_old_key_0001', RAMPART_API_KEY: 'rk_new_key_0002' },
      sealed.out,
    );
    expect(resealed.code, resealed.err).toBe(0);
    const next = JSON.parse(resealed.out);
    expect(await openConnection('rk_new_key_0002', next)).toBe(conn);
    await expect(openConnection('rk_old_key_0001', next)).rejects.toThrow();
  });

  it('refuses without a key (exit 2) and with the wrong old key (exit 1), echoing no input', async () => {
    const noKey = await sealWith(['seal-connection', conn], { RAMPART_API_KEY: '' });
    expect(noKey.code).toBe(2);
    expect(noKey.err).toMatch(/--api-key or RAMPART_API_KEY/);
    const sealed = await sealWith(['seal-connection', '--api-key', 'rk_a_0001', conn], {});
    const wrong = await sealWith(
      ['reseal-connection', '--old-api-key', 'rk_b_0002', '--new-api-key', 'rk_c', '-'],
      {},
      sealed.out,
    );
    expect(wrong.code).toBe(1);
    expect(wrong.err).toMatch(/wrong key or tampered/);
    expect(`${noKey.err}${wrong.err}`).not.toContain('s3cret');
    expect(wrong.err).not.toContain('rk_b_0002');
  });
});
