/**
 * `rampart start` with RAMPART_WORKERS: the built CLI run as a real process tree (a node:cluster primary and its
 * workers) on a scratch PostgreSQL database. Both workers serve requests (told apart by the `pid` of the log line
 * carrying each response's x-request-id), a session signed by one worker is accepted by the other (the primary
 * generated the one dev JWT secret), a killed worker is restarted, and SIGTERM drains every worker and exits 0.
 * Refusals: PGlite with more than one worker, production without REDIS_URL, and bad values.
 *
 * Runs packages/cli/dist/bin.js, so build first (`npm test` does: its pretest runs `tsc -b`). The PostgreSQL part
 * needs TEST_DATABASE_URL and is skipped without it.
 */

import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { type AddressInfo, createServer } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAgent } from '@rampart/server';
import { BIN, type CliRun, cleanEnv, PASSWORD, runCli, spawnCli, uniqueEmail } from '@rampart/testing';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createReaderDatabase } from '../../server/test/dbaccess-support.js';

const DB = process.env.TEST_DATABASE_URL;
/** A fresh database: migrations, two workers booting side by side on a busy 2-core machine. */
const START_TIMEOUT_MS = 60_000;

const running = new Set<ChildProcess>();
const tempDirs: string[] = [];

function tempDataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'rampart-workers-'));
  tempDirs.push(dir);
  return dir;
}

function rampart(env: Record<string, string>): CliRun {
  const run = spawnCli(['start'], cleanEnv({ NODE_ENV: 'development', PORT: '0', ...env }));
  running.add(run.child);
  void run.exited.then(() => running.delete(run.child));
  return run;
}

async function until<T>(
  what: string,
  run: CliRun,
  probe: () => T | undefined,
  ms = START_TIMEOUT_MS,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) {
      throw new Error(`${what}: not within ${ms} ms\nstdout:\n${run.stdout()}\nstderr:\n${run.stderr()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface LogLine {
  pid: number;
  msg?: string;
  reqId?: string;
  [k: string]: unknown;
}

function logLines(run: CliRun): LogLine[] {
  const out: LogLine[] = [];
  for (const line of run.stdout().split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line) as LogLine);
    } catch {
      // a line still being written
    }
  }
  return out;
}

/** Pids of the workers that logged "Rampart listening on", in order. */
const workerPids = (run: CliRun) =>
  logLines(run)
    .filter((l) => l.msg?.startsWith('Rampart listening on'))
    .map((l) => l.pid);

/** One request on its own connection (no keep-alive), so the primary hands each to the next worker. */
function get(
  baseUrl: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; requestId: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${baseUrl}${path}`, { agent: false, headers }, (res) => {
      res.resume();
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, requestId: String(res.headers['x-request-id'] ?? '') }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

/** Which worker pid answered each request id, read from the request logs. */
async function servedBy(run: CliRun, requestIds: string[]): Promise<Map<string, number>> {
  return until('request logs', run, () => {
    const byReq = new Map<string, number>();
    for (const l of logLines(run)) {
      if (l.msg === 'request completed' && l.reqId && requestIds.includes(l.reqId)) byReq.set(l.reqId, l.pid);
    }
    return byReq.size === requestIds.length ? byReq : undefined;
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

beforeAll(() => {
  if (!existsSync(BIN))
    throw new Error(`${BIN} is missing: run \`npx tsc -b\` (npm test does it in pretest)`);
});

afterEach(async () => {
  await Promise.all(
    [...running].map(
      (child) =>
        new Promise<void>((resolve) => {
          child.once('close', () => resolve());
          // The primary first, then its workers: they exit when its IPC channel closes.
          child.kill('SIGKILL');
        }),
    ),
  );
});

afterAll(() => {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!DB)('RAMPART_WORKERS=2 on PostgreSQL', () => {
  let dbName: string;
  let url: string;

  beforeAll(async () => {
    dbName = `rampart_t_${randomBytes(6).toString('hex')}`;
    const admin = new pg.Client({ connectionString: DB });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${dbName}`);
    await admin.end();
    const u = new URL(DB as string);
    u.pathname = `/${dbName}`;
    url = u.toString();
  });
  afterAll(async () => {
    const admin = new pg.Client({ connectionString: DB });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await admin.end();
  });

  it('serves from both workers, shares one dev JWT secret, restarts a killed worker, drains on SIGTERM', async () => {
    const dataDir = tempDataDir();
    const run = rampart({ RAMPART_WORKERS: '2', DATABASE_URL: url, RAMPART_DATA_DIR: dataDir });
    const baseUrl = await until('both workers listening', run, () => {
      const m = /Rampart primary: 2 workers listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(run.stdout());
      return m?.[1];
    });
    // Each worker's own "listening" line may reach stdout just after the primary's.
    const first = await until('both workers logged listening', run, () => {
      const pids = workerPids(run);
      return new Set(pids).size >= 2 ? pids : undefined;
    });
    expect(new Set(first).size).toBe(2);
    expect(first).not.toContain(run.child.pid);
    // The primary generated the keys once, before forking: one file of each, no leftover temporary files.
    expect(readdirSync(dataDir).sort()).toEqual(['jwt.secret', 'master.key']);
    expect(run.stderr().match(/generated a development JWT secret/g)).toHaveLength(1);

    // Every request on its own connection: the primary deals connections round-robin.
    const ids = [];
    for (let i = 0; i < 10; i++) {
      const r = await get(baseUrl, '/healthz');
      expect(r.status).toBe(200);
      ids.push(r.requestId);
    }
    const pids = new Set((await servedBy(run, ids)).values());
    expect(pids).toEqual(new Set(first));

    // A session signed by whichever worker served the sign-up is accepted by both.
    const signup = await fetch(`${baseUrl}/api/auth/signup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        email: uniqueEmail('workers'),
        password: PASSWORD,
        orgName: 'Workers',
      }),
    });
    expect(signup.status).toBe(201);
    const { token, orgId } = (await signup.json()) as { token: string; orgId: string };
    const meIds = [];
    for (let i = 0; i < 6; i++) {
      const r = await get(baseUrl, '/api/me', { authorization: `Bearer ${token}` });
      expect(r.status).toBe(200);
      meIds.push(r.requestId);
    }
    expect(new Set((await servedBy(run, meIds)).values())).toEqual(new Set(first));

    // An on-prem agent's socket lands on one worker; queries on new connections reach both workers, and the
    // one without the socket forwards over the node bus (LISTEN/NOTIFY here): every query is answered.
    const customer = await createReaderDatabase(DB as string);
    const authed = (path: string, body: unknown, key = token) =>
      fetch(`${baseUrl}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', connection: 'close' },
        body: JSON.stringify(body),
      });
    const apiKey = (
      (await (await authed(`/api/orgs/${orgId}/api-keys`, { name: 'k' })).json()) as { key: string }
    ).key;
    const conn = (await (
      await authed(`/api/orgs/${orgId}/connections`, { name: 'agent', mode: 'agent' })
    ).json()) as {
      id: string;
      agentToken: string;
    };
    const agent = runAgent({ server: baseUrl, token: conn.agentToken, databaseUrl: customer.readerUrl });
    try {
      await agent.ready;
      const queryIds: string[] = [];
      for (let i = 1; i <= 8; i++) {
        const r = await authed(
          `/api/orgs/${orgId}/connections/${conn.id}/query`,
          {
            sql: 'SELECT email FROM customers WHERE id = $1',
            params: [i],
          },
          apiKey,
        );
        const body = (await r.json()) as { rows: unknown[][] };
        expect(r.status, JSON.stringify(body)).toBe(200);
        expect(body.rows).toEqual([[`c${i}@example.com`]]);
        queryIds.push(r.headers.get('x-request-id') ?? '');
      }
      expect(new Set((await servedBy(run, queryIds)).values())).toEqual(new Set(first));
    } finally {
      await agent.stop();
      await customer.close();
    }

    // A worker that dies is replaced (after the back-off), and the new one serves.
    const victim = first[0] as number;
    process.kill(victim, 'SIGKILL');
    const replacement = await until('a replacement worker', run, () =>
      workerPids(run).find((p) => !first.includes(p)),
    );
    expect(run.stdout()).toMatch(/worker exited unexpectedly; restarting it/);
    expect(alive(victim)).toBe(false);
    const now = [first[1] as number, replacement];
    const again = [];
    for (let i = 0; i < 10; i++) again.push((await get(baseUrl, '/healthz')).requestId);
    expect(new Set((await servedBy(run, again)).values())).toEqual(new Set(now));

    // SIGTERM to the primary: every worker drains, the primary exits 0.
    run.child.kill('SIGTERM');
    const exit = await Promise.race([
      run.exited,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no exit within 40 s')), 40_000)),
    ]);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(
      logLines(run).filter(
        (l) => l.msg === 'shutting down: finishing in-flight requests' && now.includes(l.pid),
      ),
    ).toHaveLength(2);
    for (const pid of now) expect(alive(pid)).toBe(false);
  }, 180_000);

  it('a port already taken: the workers fail to start, and the primary exits 1 instead of restarting them', async () => {
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    try {
      const port = (squatter.address() as AddressInfo).port;
      const run = rampart({
        RAMPART_WORKERS: '2',
        DATABASE_URL: url,
        RAMPART_DATA_DIR: tempDataDir(),
        PORT: String(port),
      });
      const exit = await Promise.race([
        run.exited,
        new Promise<never>((_, reject) =>
          setTimeout(
            () => reject(new Error(`no exit within 60 s\n${run.stdout()}\n${run.stderr()}`)),
            60_000,
          ),
        ),
      ]);
      expect(exit).toEqual({ code: 1, signal: null });
      expect(run.stderr()).toMatch(/EADDRINUSE/);
      expect(run.stdout()).toMatch(/a worker failed to start; stopping/);
      expect(run.stdout()).not.toMatch(/restarting it/);
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
  }, 90_000);

  it('production without REDIS_URL is refused (per-worker rate limits would multiply every limit)', async () => {
    const r = await runCli(['start'], {
      env: cleanEnv({
        NODE_ENV: 'production',
        RAMPART_WORKERS: '2',
        DATABASE_URL: url,
        RAMPART_DATA_DIR: tempDataDir(),
      }),
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/RAMPART_WORKERS: 2 workers in production need REDIS_URL/);
  }, 60_000);
});

describe('RAMPART_WORKERS refusals', () => {
  it('PGlite with two workers exits 2 and says to set DATABASE_URL or RAMPART_WORKERS=1, touching nothing', async () => {
    const dataDir = tempDataDir();
    const r = await runCli(['start'], {
      env: cleanEnv({ NODE_ENV: 'development', RAMPART_WORKERS: '2', RAMPART_DATA_DIR: dataDir }),
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /RAMPART_WORKERS: 2 workers need PostgreSQL, and PGlite serves one process only: set DATABASE_URL, or RAMPART_WORKERS=1/,
    );
    expect(readdirSync(dataDir)).toEqual([]);
  }, 60_000);

  // On a one-core machine auto is 1 worker: PGlite is fine there, and the server would start.
  it.skipIf(availableParallelism() < 2)(
    'auto on PGlite is refused when the machine has more than one core',
    async () => {
      const r = await runCli(['start'], {
        env: cleanEnv({ NODE_ENV: 'development', RAMPART_WORKERS: 'auto', RAMPART_DATA_DIR: tempDataDir() }),
      });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`(auto: ${availableParallelism()} cores) need PostgreSQL`);
    },
    60_000,
  );

  // Every refused value is checked in process against the same parser (server/test/workers-config.test.ts:
  // '0', '-1', '65', '1.5', 'many', '2 workers' and more); one real `rampart start` per kind of value (a number out
  // of range, not a number) shows the command turns the refusal into exit 2 and the message (~1 s per process).
  it.each(['65', '2 workers'])(
    'RAMPART_WORKERS=%j is a configuration error',
    async (v) => {
      const r = await runCli(['start'], {
        env: cleanEnv({ NODE_ENV: 'development', RAMPART_WORKERS: v, RAMPART_DATA_DIR: tempDataDir() }),
      });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(
        'RAMPART_WORKERS: must be a whole number from 1 to 64, or auto (one per core)',
      );
    },
    60_000,
  );
});
