import { checkSelect, loadSqlGuard } from '@rampart/core/sqlguard';
import pg from 'pg';
import { WebSocket } from 'ws';
import { AppError } from '../platform/errors.js';
import { type AgentAudit, openAgentAudit } from './agent-audit.js';
import type { AgentResult } from './agent-hub.js';
import { type AgentPolicy, enforceAgentPolicy } from './agent-policy.js';
import { writeCapabilities } from './agent-readonly.js';
import { DEFAULT_LIMITS, runSandboxed, type SandboxLimits } from './sandbox.js';

export interface AgentOptions {
  /**
   * Rampart's base URL (http(s)://...); the agent connects to its /agent WebSocket. Several URLs (one per node,
   * for availability): the agent keeps a connection to each, and answers queries from any of them.
   */
  server: string | readonly string[];
  token: string;
  /** The customer database, as a SELECT-only role: it never leaves this process. */
  databaseUrl: string;
  log?: (line: string) => void;
  /** Reconnect back-off bounds, ms. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** The local policy (loadAgentPolicy): relations, denied columns, max rows. Without one, the role's grants decide. */
  policy?: AgentPolicy;
  /** The local append-only audit file (JSON Lines, 0600): one line per query received. */
  auditFile?: string;
  /** Refuse to start (`ready` rejects with {@link ReadOnlyCheckError}) if the role can write anything. */
  readOnlyCheck?: boolean;
  /** Sandbox limits (statement timeout, rows, bytes, client deadline); the policy's maxRows lowers maxRows. */
  limits?: Partial<SandboxLimits>;
  /** Connect timeout to the local database, ms (default 10 s). */
  connectTimeoutMs?: number;
  /**
   * Once a server has pinged this agent, a silence longer than this (ms) means the link is dead (a proxy cut it
   * without closing it): the socket is dropped and reconnected. Default 65 s (three of the server's 20 s pings).
   */
  silenceTimeoutMs?: number;
}

/** `--read-only-check` found write capabilities: the agent does not start. */
export class ReadOnlyCheckError extends Error {
  constructor(readonly problems: string[]) {
    super(
      `the database role can write, so the agent will not start (--read-only-check):\n  - ${problems.join('\n  - ')}\nConnect as a role with SELECT grants only (docs/DBACCESS.md).`,
    );
  }
}

/**
 * One query received from the server, as the agent handles it: the guard again, the local policy, the sandbox,
 * then one line in the local audit file whatever happened (no line written, no answer sent).
 */
export function agentQueryHandler(opts: {
  database: () => Promise<pg.ClientBase>;
  policy?: AgentPolicy | undefined;
  audit?: AgentAudit | undefined;
  limits?: Partial<SandboxLimits> | undefined;
  /** Queries taken at once (the one running and those waiting); more are refused at once (503). Default 64. */
  maxQueued?: number | undefined;
  /**
   * How long a query may wait for the connection before it is dropped unrun (504): by then the server has
   * stopped waiting for the answer, so running it would only load the database. Default 30 s.
   */
  maxWaitMs?: number | undefined;
}): (sql: string, params: unknown[]) => Promise<AgentResult> {
  const limits: SandboxLimits = { ...DEFAULT_LIMITS, ...opts.limits };
  if (opts.policy?.maxRows) limits.maxRows = Math.min(limits.maxRows, opts.policy.maxRows);
  const maxQueued = opts.maxQueued ?? 64;
  const maxWaitMs = opts.maxWaitMs ?? 30_000;
  // The agent's one connection serves one query at a time (messages arrive concurrently): interleaved, the
  // policy lookups and sandbox statements of two queries would run inside or after each other's transaction.
  // The queue is bounded in length and in wait, so a burst from the server cannot pile up work on the database.
  let queue: Promise<unknown> = Promise.resolve();
  let waiting = 0;
  return (sql, params) => {
    if (waiting >= maxQueued)
      return handleOne(
        sql,
        params,
        new AppError('service_unavailable', `The agent already has ${maxQueued} queries waiting; not run`),
      );
    waiting++;
    const queued = performance.now();
    const turn = () => {
      waiting--;
      const waited = performance.now() - queued;
      return handleOne(
        sql,
        params,
        waited > maxWaitMs
          ? new AppError(
              'upstream_timeout',
              `The query waited ${Math.round(waited)} ms for the agent; not run`,
            )
          : undefined,
      );
    };
    const run = queue.then(turn, turn);
    queue = run.catch(() => {});
    return run;
  };
  async function handleOne(sql: string, params: unknown[], refused?: AppError): Promise<AgentResult> {
    const started = performance.now();
    let result: AgentResult | undefined;
    let failure: unknown;
    try {
      if (refused) throw refused;
      await loadSqlGuard();
      const verdict = checkSelect(sql);
      if (!verdict.ok) throw new AppError('query_not_allowed', `Query not allowed: ${verdict.reason}`);
      const client = await opts.database();
      if (opts.policy) {
        // The policy's catalog lookups get the sandbox's client deadline too: a silent database cannot hold them.
        const ms = limits.clientTimeoutMs ?? limits.timeoutMs + 1_000;
        let timer: NodeJS.Timeout | undefined;
        const deadline = new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            client.on('error', () => {});
            (client as Partial<pg.Client>).connection?.stream.destroy();
            reject(new AppError('upstream_timeout', `The database did not answer within ${ms} ms`));
          }, ms);
        });
        try {
          await Promise.race([enforceAgentPolicy(client, sql, opts.policy), deadline]);
        } finally {
          clearTimeout(timer);
        }
      }
      const r = await runSandboxed(client, sql, params, limits);
      result = { columns: r.columns, rows: r.rows, rowCount: r.rowCount, truncated: r.truncated };
    } catch (err) {
      failure = err;
    }
    try {
      opts.audit?.append({
        sql,
        params: params.length,
        rowCount: result?.rowCount ?? 0,
        truncated: result?.truncated ?? false,
        outcome: failure === undefined ? 'ok' : failure instanceof AppError ? failure.code : 'error',
        ...(failure instanceof AppError ? { reason: failure.message } : {}),
        durationMs: Math.round(performance.now() - started),
      });
    } catch {
      throw new AppError('bad_gateway', 'The agent could not write its audit file, so it does not answer');
    }
    if (failure !== undefined) throw failure;
    return result as AgentResult;
  }
}

export interface RunningAgent {
  /** Resolves once the WebSocket is open (the first time). */
  ready: Promise<void>;
  stop(): Promise<void>;
}

/**
 * The on-prem agent: connects out to Rampart, receives queries, re-validates each with the same sandbox
 * (so a compromised or buggy server still cannot make it write), checks it against the local policy (so it can
 * read only what the customer allowed), runs it on the local database, writes a line to the local audit file and
 * returns only the requested rows. Reconnects with exponential back-off and jitter when the link drops.
 */
/**
 * The WebSocket URL of a server's /agent: relative to the server's base, so a Rampart mounted under a path
 * prefix (https://host/rampart) is reached at https://host/rampart/agent, not https://host/agent.
 */
function agentEndpoint(server: string): URL {
  const url = new URL(server);
  url.search = '';
  url.hash = '';
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/agent`;
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url;
}

export function runAgent(opts: AgentOptions): RunningAgent {
  const log = opts.log ?? (() => {});
  const min = opts.minBackoffMs ?? 500;
  const max = opts.maxBackoffMs ?? 30_000;
  let stopped = false;
  let db: pg.Client | null = null;
  let markReady: () => void = () => {};
  let failReady: (e: Error) => void = () => {};
  const ready = new Promise<void>((resolve, reject) => {
    markReady = resolve;
    failReady = reject;
  });
  ready.catch(() => {});
  const audit = opts.auditFile ? openAgentAudit(opts.auditFile) : undefined;

  const database = async (): Promise<pg.Client> => {
    if (db) return db;
    const c = new pg.Client({
      connectionString: opts.databaseUrl,
      connectionTimeoutMillis: opts.connectTimeoutMs ?? 10_000,
    });
    // A connection the sandbox cut (deadline, byte cap) or the server dropped is replaced on the next query.
    const drop = () => {
      if (db === c) db = null;
    };
    c.on('error', drop);
    c.on('end', drop);
    await c.connect();
    db = c;
    return c;
  };
  const handle = agentQueryHandler({ database, policy: opts.policy, audit, limits: opts.limits });

  // One link per /agent endpoint: two links to one node would replace each other there (a newer socket of a
  // connection replaces the older), and reconnect, and replace, forever. `https://a` and `https://a/` are one.
  const endpoints = new Map<string, string>();
  for (const server of typeof opts.server === 'string' ? [opts.server] : opts.server) {
    const key = agentEndpoint(server).href;
    if (!endpoints.has(key)) endpoints.set(key, server);
  }
  const servers = [...endpoints.values()];
  if (!servers.length) throw new TypeError('runAgent: at least one server URL is required');
  const silenceMs = opts.silenceTimeoutMs ?? 65_000;
  const links = servers.map((server) => ({
    server,
    ws: null as WebSocket | null,
    attempt: 0,
    timer: null as NodeJS.Timeout | null,
    watchdog: null as NodeJS.Timeout | null,
  }));
  const label = (server: string) => (servers.length > 1 ? ` (${new URL(server).host})` : '');

  const connect = (link: (typeof links)[number]) => {
    if (stopped) return;
    const url = agentEndpoint(link.server);
    const sock = new WebSocket(url, { headers: { authorization: `Bearer ${opts.token}` } });
    link.ws = sock;
    // Armed by the server's first ping (a server that never pings is not held to it).
    const heard = () => {
      if (link.watchdog) clearTimeout(link.watchdog);
      link.watchdog = setTimeout(() => {
        log(`no ping from Rampart${label(link.server)} in ${silenceMs} ms; reconnecting`);
        sock.terminate();
      }, silenceMs);
      link.watchdog.unref();
    };
    sock.on('ping', heard);
    sock.on('open', () => {
      link.attempt = 0;
      log(`connected to Rampart${label(link.server)}`);
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
        const result = await handle(msg.sql, Array.isArray(msg.params) ? msg.params : []);
        sock.send(JSON.stringify({ type: 'result', id: msg.id, result }));
      } catch (err) {
        const code = err instanceof AppError ? err.code : 'error';
        const message = err instanceof AppError ? err.message : 'the local database failed';
        sock.send(JSON.stringify({ type: 'error', id: msg.id, error: { code, message } }));
      }
    });
    sock.on('close', () => {
      if (link.watchdog) clearTimeout(link.watchdog);
      if (stopped) return;
      const delay = Math.min(max, min * 2 ** link.attempt++) * (0.5 + Math.random() / 2);
      log(`disconnected${label(link.server)}; reconnecting in ${Math.round(delay)} ms`);
      link.timer = setTimeout(() => connect(link), delay);
    });
    sock.on('error', () => {});
  };
  const start = async () => {
    if (opts.readOnlyCheck) {
      const problems = await writeCapabilities(await database());
      if (problems.length) throw new ReadOnlyCheckError(problems);
      log('read-only check passed: the role cannot write');
    }
    for (const link of links) connect(link);
  };
  start().catch((err: Error) => {
    stopped = true;
    audit?.close();
    void db?.end().catch(() => {});
    failReady(err);
  });

  return {
    ready,
    stop: async () => {
      stopped = true;
      for (const link of links) {
        if (link.timer) clearTimeout(link.timer);
        if (link.watchdog) clearTimeout(link.watchdog);
        link.ws?.close();
      }
      await db?.end().catch(() => {});
      audit?.close();
    },
  };
}
