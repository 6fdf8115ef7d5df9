// The server under load: the built CLI (`rampart start`) as a child process on loopback, with fixed keys,
// a throwaway PostgreSQL database (or a PGlite data dir) and Redis; plus the stub model provider and the
// org, API key, widget and visitor session the mixed load needs.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { BIN, signup, TEST_JWT_SECRET, testMasterKeys } from '@rampart/testing';
import pg from 'pg';
import { callJson } from '../lib/rampart.js';

const PROBE = fileURLToPath(new URL('./heap-probe.cjs', import.meta.url));

export const PG_BASE = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const REDIS_URL = process.env.LOAD_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const SHOP = 'https://shop.example.com';
export const GATEWAY_MODEL = 'bench-model';
export const WIDGET_MODEL = 'chat-model';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function serverEnv(port: number, db: { url?: string; dataDir?: string }): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    HOST: '127.0.0.1',
    PORT: String(port),
    RAMPART_MASTER_KEYS: testMasterKeys('load1'),
    RAMPART_JWT_SECRET: TEST_JWT_SECRET.toString('base64'),
    RAMPART_PUBLIC_URL: `http://127.0.0.1:${port}`,
    RAMPART_OUTBOUND_ALLOW: '127.0.0.1',
    RAMPART_TRUST_PROXY: '127.0.0.1',
    RAMPART_SIGNUP_PER_IP_PER_HOUR: '1000',
    RAMPART_DATA_DIR: db.dataDir ?? '/nonexistent-load-bench',
    REDIS_URL,
    ...(db.url ? { DATABASE_URL: db.url } : {}),
  };
}

/** One run of `node packages/cli/dist/bin.js start`. */
export class ServerProcess {
  readonly child: ChildProcess;
  readonly origin: string;
  heapUsed = 0;
  /** The child's last process.memoryUsage() report (bytes), over IPC from heap-probe.cjs. */
  memory = { heapUsed: 0, heapTotal: 0, external: 0, arrayBuffers: 0, rss: 0 };
  exit: { code: number | null; signal: string | null } | undefined;
  #log = '';

  private constructor(child: ChildProcess, origin: string) {
    this.child = child;
    this.origin = origin;
    child.on('message', (m: Partial<ServerProcess['memory']>) => {
      if (typeof m.heapUsed === 'number') this.heapUsed = m.heapUsed;
      this.memory = { ...this.memory, ...m };
    });
    const keep = (b: Buffer) => {
      this.#log = (this.#log + b.toString()).slice(-8000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    child.on('exit', (code, signal) => {
      this.exit = { code, signal };
    });
  }

  static async start(env: Record<string, string>): Promise<ServerProcess> {
    const child = spawn(process.execPath, ['--require', PROBE, BIN, 'start'], {
      env,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const sp = new ServerProcess(child, `http://127.0.0.1:${env.PORT}`);
    const deadline = Date.now() + 90_000;
    for (;;) {
      if (sp.exit) throw new Error(`server exited ${JSON.stringify(sp.exit)} while starting:\n${sp.log}`);
      try {
        const res = await fetch(`${sp.origin}/healthz`);
        if (res.status === 200) return sp;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`server did not become healthy:\n${sp.log}`);
      }
      await sleep(100);
    }
  }

  get log(): string {
    return this.#log;
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** Resident set size from /proc, in bytes. */
  rss(): number {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${this.pid}/status`, 'utf8'));
    return Number(m?.[1] ?? 0) * 1024;
  }

  async kill9(): Promise<void> {
    this.child.kill('SIGKILL');
    await this.exited(10_000);
  }

  /** SIGTERM, then SIGKILL if it has not exited within `ms`; true when it stopped on SIGTERM. */
  async stop(ms = 30_000): Promise<boolean> {
    if (this.exit) return true;
    this.child.kill('SIGTERM');
    if (await this.exited(ms)) return true;
    this.child.kill('SIGKILL');
    await this.exited(10_000);
    return false;
  }

  async exited(ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!this.exit && Date.now() < deadline) await sleep(50);
    return this.exit !== undefined;
  }
}

/** `rampart admin audit verify` with the server's environment: its exit code and last output line. */
export function auditVerify(env: Record<string, string>): { code: number; out: string } {
  const r = spawnSync(process.execPath, [BIN, 'admin', 'audit', 'verify'], { env, encoding: 'utf8' });
  const out = `${r.stdout}${r.stderr}`.trim().split('\n').slice(-3).join(' / ');
  return { code: r.status ?? -1, out };
}

/** A stub OpenAI-compatible provider answering every chat completion at once. */
export async function startStub(): Promise<{
  origin: string;
  received: () => number;
  close(): Promise<void>;
}> {
  const body = JSON.stringify({
    id: 'chatcmpl-load',
    object: 'chat.completion',
    created: 1_700_000_000,
    model: GATEWAY_MODEL,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: 'Exchanges are free within 60 days; shipping takes a week.' },
        finish_reason: 'stop',
      },
    ],
    usage: { prompt_tokens: 380, completion_tokens: 20, total_tokens: 400 },
  });
  let received = 0;
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received++;
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received: () => received,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** A JSON call to the server (the shared bench helper): a status of 300 or above throws. */
export const call = callJson;

export interface Tenant {
  readonly orgId: string;
  readonly session: string;
  readonly apiKey: string;
  readonly widgetId: string;
  readonly visitorToken: string;
}

/** Sets up an org as a customer would; with `dbUrl`, moves it to the business plan with ample credits. */
export async function setUpTenant(origin: string, stubOrigin: string, dbUrl?: string): Promise<Tenant> {
  const s = await signup(origin, { email: `load-${Date.now()}@example.com`, orgName: 'Load Bench' });
  const orgId = String(s.orgId);
  const session = String(s.token);
  const auth = { authorization: `Bearer ${session}` };
  if (dbUrl) {
    const c = new pg.Client({ connectionString: dbUrl });
    await c.connect();
    await c.query(
      `INSERT INTO org_billing (org_id, plan, message_credits) VALUES ($1, 'business', 100000000)
       ON CONFLICT (org_id) DO UPDATE SET plan = 'business', message_credits = 100000000`,
      [orgId],
    );
    await c.end();
  }
  await call(
    origin,
    'PUT',
    `/api/orgs/${orgId}/providers/stub`,
    {
      baseUrl: `${stubOrigin}/v1`,
      apiKey: 'sk-load-upstream-0123456789abcdef',
      models: [GATEWAY_MODEL, WIDGET_MODEL],
    },
    auth,
  );
  const key = await call(origin, 'POST', `/api/orgs/${orgId}/api-keys`, { name: 'load' }, auth);
  const widget = await call(
    origin,
    'POST',
    `/api/orgs/${orgId}/widgets`,
    {
      name: 'Help',
      allowedOrigins: [SHOP],
      systemPrompt: 'You are the help assistant of a shoe shop.',
      model: WIDGET_MODEL,
      limits: { perIpPerMinute: 10_000, perWidgetPerMinute: 1_000_000 },
    },
    auth,
  );
  const widgetId = String(widget.id);
  const visitor = await call(origin, 'POST', `/widget/${widgetId}/session`, undefined, {
    origin: SHOP,
    'x-forwarded-for': '198.51.100.7',
  });
  return { orgId, session, apiKey: String(key.key), widgetId, visitorToken: String(visitor.visitorToken) };
}
