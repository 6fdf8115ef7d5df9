import pg from 'pg';
import { WebSocket } from 'ws';
import { AppError } from '../platform/errors.js';
import { runSandboxed } from './sandbox.js';

export interface AgentOptions {
  /** Rampart's base URL (http(s)://...); the agent connects to its /agent WebSocket. */
  server: string;
  token: string;
  /** The customer database, as a SELECT-only role: it never leaves this process. */
  databaseUrl: string;
  log?: (line: string) => void;
  /** Reconnect back-off bounds, ms. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

export interface RunningAgent {
  /** Resolves once the WebSocket is open (the first time). */
  ready: Promise<void>;
  stop(): Promise<void>;
}

/**
 * The on-prem agent: connects out to Rampart, receives queries, re-validates each with the same sandbox
 * (so a compromised or buggy server still cannot make it write), runs it on the local database and returns
 * only the requested rows. Reconnects with exponential back-off and jitter when the link drops.
 */
export function runAgent(opts: AgentOptions): RunningAgent {
  const log = opts.log ?? (() => {});
  const min = opts.minBackoffMs ?? 500;
  const max = opts.maxBackoffMs ?? 30_000;
  let stopped = false;
  let ws: WebSocket | null = null;
  let db: pg.Client | null = null;
  let attempt = 0;
  let timer: NodeJS.Timeout | null = null;
  let markReady: () => void = () => {};
  const ready = new Promise<void>((r) => {
    markReady = r;
  });

  const database = async (): Promise<pg.Client> => {
    if (db) return db;
    const c = new pg.Client({ connectionString: opts.databaseUrl });
    c.on('error', () => {
      if (db === c) db = null;
    });
    await c.connect();
    db = c;
    return c;
  };

  const connect = () => {
    if (stopped) return;
    const url = new URL('/agent', opts.server);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    const sock = new WebSocket(url, { headers: { authorization: `Bearer ${opts.token}` } });
    ws = sock;
    sock.on('open', () => {
      attempt = 0;
      log('connected to Rampart');
      markReady();
    });
    sock.on('message', async (data) => {
      let msg: { type?: string; id?: string; sql?: string; params?: unknown[] };
      try {
        msg = JSON.parse(String(data));
      } catch {
        return;
      }
      if (msg.type !== 'query' || typeof msg.id !== 'string' || typeof msg.sql !== 'string') return;
      try {
        const r = await runSandboxed(await database(), msg.sql, Array.isArray(msg.params) ? msg.params : []);
        sock.send(
          JSON.stringify({
            type: 'result',
            id: msg.id,
            result: { columns: r.columns, rows: r.rows, rowCount: r.rowCount, truncated: r.truncated },
          }),
        );
      } catch (err) {
        const code = err instanceof AppError ? err.code : 'error';
        const message = err instanceof AppError ? err.message : 'the local database failed';
        sock.send(JSON.stringify({ type: 'error', id: msg.id, error: { code, message } }));
      }
    });
    sock.on('close', () => {
      if (stopped) return;
      const delay = Math.min(max, min * 2 ** attempt++) * (0.5 + Math.random() / 2);
      log(`disconnected; reconnecting in ${Math.round(delay)} ms`);
      timer = setTimeout(connect, delay);
    });
    sock.on('error', () => {});
  };
  connect();

  return {
    ready,
    stop: async () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      ws?.close();
      await db?.end().catch(() => {});
    },
  };
}
