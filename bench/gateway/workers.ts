// Several processes on one port: Rampart started as an operator would (`rampart start`, RAMPART_WORKERS=N,
// PostgreSQL) against the bare proxy in as many processes (bench/gateway/cluster-proxy.ts), N = 1 and 2, each
// pair of loads interleaved with direct loads to the stub like the rest of the gateway bench.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BIN, cleanEnv, createPgDatabase, testServerEnv } from '@rampart/testing';
import pg from 'pg';
import type { Target } from '../lib/checked-load.js';
import type { LoadWorker } from '../lib/http-load.js';
import { type Loader, type Pair, target } from './measure.js';
import { CONCURRENCIES, type Plan, setUpOrg } from './setup.js';

export const PROCESS_COUNTS = [1, 2] as const;

export interface ProcessResult {
  readonly processes: number;
  readonly bare: readonly Pair[];
  readonly rampart: readonly Pair[];
}

export interface ProcessesRun {
  readonly results: readonly ProcessResult[];
  /** PostgreSQL version of the throwaway databases. */
  readonly pgVersion: string;
}

interface Spawned {
  readonly origin: string;
  /** SIGTERM, then the exit code (null: killed after 40 s). */
  stop(): Promise<number | null>;
}

const CLUSTER_PROXY = fileURLToPath(new URL('./cluster-proxy.ts', import.meta.url));

/** Starts `args` and resolves once stdout matches `ready` (its group 1 is the origin); stdout is drained after. */
async function spawnReady(args: string[], env: NodeJS.ProcessEnv, ready: RegExp): Promise<Spawned> {
  const child: ChildProcess = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let seen = '';
  let err = '';
  child.stderr?.setEncoding('utf8').on('data', (s: string) => {
    err = (err + s).slice(-4000);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const origin = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready in 120 s: ${err}`)), 120_000);
    const onData = (s: string) => {
      seen += s;
      const m = ready.exec(seen);
      if (m) {
        clearTimeout(timer);
        seen = '';
        child.stdout?.off('data', onData);
        // Keep reading (and dropping) the logs, so the pipe never fills and blocks the server.
        child.stdout?.on('data', () => {});
        resolve(m[1] ?? '');
      } else seen = seen.slice(-8000);
    };
    child.stdout?.setEncoding('utf8').on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`exited (${code}) before it was ready: ${err}`));
    });
  });
  return {
    origin,
    stop: async () => {
      child.kill('SIGTERM');
      let t: NodeJS.Timeout | undefined;
      const timeout = new Promise<null>((resolve) => {
        t = setTimeout(() => {
          child.kill('SIGKILL');
          resolve(null);
        }, 40_000);
      });
      const code = await Promise.race([exited, timeout]);
      clearTimeout(t);
      return code;
    },
  };
}

export async function measureProcesses(
  loader: Loader,
  worker: LoadWorker,
  stubOrigin: string,
  direct: Target,
  plan: Plan,
  failures: string[],
): Promise<ProcessesRun> {
  if (!existsSync(BIN)) {
    failures.push(`processes: ${BIN} is missing (run \`npx tsc -b\` first)`);
    return { results: [], pgVersion: '' };
  }
  const results: ProcessResult[] = [];
  let pgVersion = '';
  for (const n of PROCESS_COUNTS) {
    // The bare proxy in n processes.
    const bare: Pair[] = [];
    const proxy = await spawnReady(
      ['--import', 'tsx', CLUSTER_PROXY, stubOrigin, String(n)],
      cleanEnv(),
      /listening (\d+)/,
    );
    try {
      const via = target(`http://127.0.0.1:${proxy.origin}`, 'unused');
      for (const c of CONCURRENCIES) bare.push(await loader.pair(`bare proxy ×${n}`, plan, c, direct, via));
    } finally {
      await worker.closePools();
      await proxy.stop();
    }

    // Rampart with n workers, on its own throwaway PostgreSQL database.
    const db = await createPgDatabase({ prefix: 'rampart_bench' });
    pgVersion = db.version;
    const dataDir = mkdtempSync(join(tmpdir(), 'rampart-bench-'));
    const rampart: Pair[] = [];
    const counter = new pg.Client({ connectionString: db.url });
    try {
      const server = await spawnReady(
        [BIN, 'start'],
        cleanEnv({
          ...testServerEnv('bench1', dataDir),
          // What an operator runs: development mode's defaults, request logs at info (read and dropped here).
          NODE_ENV: 'development',
          LOG_LEVEL: 'info',
          RAMPART_OUTBOUND_ALLOW: '127.0.0.1',
          RAMPART_WORKERS: String(n),
          DATABASE_URL: db.url,
          HOST: '127.0.0.1',
          PORT: '0',
        }),
        n === 1
          ? /Rampart listening on (http:\/\/127\.0\.0\.1:\d+)/
          : /Rampart primary: \d+ workers listening on (http:\/\/127\.0\.0\.1:\d+)/,
      );
      try {
        const org = await setUpOrg(server.origin, stubOrigin);
        await counter.connect();
        let sent = 0;
        const on: Target = (c, warm, k) => {
          sent += warm + k;
          return target(server.origin, org.keys.on)(c, warm, k);
        };
        // Each round waits for its usage audit rows (written after the answers) before the next one starts.
        const settle = async () => {
          const started = performance.now();
          for (;;) {
            const { rows } = await counter.query<{ n: number }>(
              "SELECT count(*)::int AS n FROM audit_log WHERE action = 'llm.completion'",
            );
            if ((rows[0]?.n ?? 0) >= sent) break;
            if (performance.now() - started > 60_000) {
              failures.push(`processes: Rampart ×${n}: usage audit rows still missing 60 s after the load`);
              break;
            }
            await new Promise((r) => setTimeout(r, 10));
          }
          return performance.now() - started;
        };
        for (const c of CONCURRENCIES)
          rampart.push(await loader.pair(`Rampart ×${n}`, plan, c, direct, on, settle));
      } finally {
        await worker.closePools();
        const code = await server.stop();
        if (code !== 0) failures.push(`processes: Rampart ×${n} did not exit 0 on SIGTERM (${code})`);
      }
    } finally {
      await counter.end().catch(() => {});
      await db.drop();
      rmSync(dataDir, { recursive: true, force: true });
    }
    results.push({ processes: n, bare, rampart });
  }
  return { results, pgVersion };
}
