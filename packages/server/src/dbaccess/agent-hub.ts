import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { hashAgentToken, isAgentToken } from '@rampart/core/apikeys';
import { type KeyRing, openString, seal } from '@rampart/core/seal';
import type { Logger } from 'pino';
import { type WebSocket, WebSocketServer } from 'ws';
import type { Database } from '../db/database.js';
import type { Queryable } from '../db/types.js';
import { type Bus, type BusMessage, nodeChannel } from '../platform/bus.js';
import { AppError, type ErrorCode } from '../platform/errors.js';
import { isUuid, newId } from '../platform/ids.js';
import { ipLimitKey } from '../platform/ratelimit.js';

export interface AgentResult {
  columns: string[];
  rows: unknown[][];
  rowCount: number;
  truncated: boolean;
}

interface Pending {
  resolve: (r: AgentResult) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

interface Agent {
  ws: WebSocket;
  pending: Map<string, Pending>;
  /** A pong (or any message) came since the last ping. */
  alive: boolean;
}

/** Error codes an agent's or another node's refusal may carry through; anything else becomes bad_gateway. */
const PASSED_CODES = new Set<ErrorCode>([
  'query_not_allowed',
  'upstream_timeout',
  'service_unavailable',
  'bad_gateway',
]);

/** How much longer the node that asked waits than the node holding the agent: that node's timeout answers first. */
const FORWARD_GRACE_MS = 2_000;
/** Clock difference between nodes tolerated on a forwarded query's expiry. */
const CLOCK_SKEW_MS = 30_000;
/** Forwarded query ids remembered at most (the oldest are forgotten first; their expiry still refuses them). */
const MAX_SERVED = 100_000;

export interface AgentHubOptions {
  /** An upgrade to `/agent` not authenticated and switched within this many ms is dropped. */
  handshakeTimeoutMs: number;
  /** Upgrades to `/agent` in progress at once from one client address (IPv6: its /64); more get 429. */
  maxPendingPerIp: number;
  /** Keep-alive: every agent socket is pinged this often and closed if the previous ping got no pong (20 s). */
  pingIntervalMs?: number;
  /** The node bus: queries for an agent held by another node are forwarded there. Without it, local agents only. */
  bus?: Bus;
  /** Seals what crosses the bus (the query, its parameters, the rows): the bus is not a place for rows at rest. */
  ring?: KeyRing;
}

/** A refusal written straight to the socket (no HTTP machinery after an upgrade), then the socket is gone. */
function refuse(socket: Duplex, status: string, code: string, message: string): void {
  if (socket.destroyed) return;
  const body = JSON.stringify({ error: code, message });
  // Destroyed once written: an `end()` alone leaves a half-open socket held for as long as the client likes.
  socket.once('finish', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-type: application/json; charset=utf-8\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/**
 * The server end of on-prem agents. An agent connects OUT to `/agent` over a WebSocket with its agent token,
 * so the server never opens a connection into the customer's network and never sees the connection string.
 * Queries for an agent connection are forwarded to that agent (which re-validates and runs them) and time out
 * cleanly if it is gone or slow. One agent per connection per node: a newer one replaces the older.
 *
 * Several nodes: each node records in `agent_presence` which agents it holds (refreshed with every keep-alive
 * ping). A query for an agent held elsewhere goes over the node bus to one node that holds it, sealed, with a
 * request id; the answer comes back on the asking node's own channel and settles that request once (a late or
 * repeated answer finds no request and is dropped). An agent may connect to several nodes at once: queries then
 * run on the node that received them if it holds the agent, else on the one that saw it most recently.
 */
export class AgentHub {
  readonly #agents = new Map<string, Agent>();
  readonly #wss = new WebSocketServer({ noServer: true, maxPayload: 10 * 1024 * 1024 });
  readonly #db: Database;
  readonly #log: Logger;
  readonly #opts: AgentHubOptions;
  /** Upgrades to `/agent` between the request and the switch (or refusal), per client address key. */
  readonly #inProgress = new Map<string, number>();
  /** Queries this node forwarded to another node, by request id. */
  readonly #remote = new Map<string, Pending>();
  /** Forwarded queries this node ran for another, by request id, until their expiry (oldest first). */
  readonly #served = new Map<string, number>();
  #ping: NodeJS.Timeout | undefined;
  #unsubscribe: (() => void) | undefined;
  #closing = false;

  constructor(db: Database, log: Logger, opts: AgentHubOptions) {
    this.#db = db;
    this.#log = log;
    this.#opts = opts;
  }

  get #pingMs(): number {
    return this.#opts.pingIntervalMs ?? 20_000;
  }

  /** Listens on this node's bus channel and starts the keep-alive; call once the server is ready. */
  async start(): Promise<void> {
    const bus = this.#opts.bus;
    if (bus && !this.#unsubscribe)
      this.#unsubscribe = await bus.subscribe(nodeChannel(bus.nodeId), (m) => this.#onBus(m));
    if (!this.#ping) {
      this.#ping = setInterval(() => this.#keepAlive(), this.#pingMs);
      this.#ping.unref();
    }
  }

  /**
   * Pings every agent socket: one that did not answer the previous ping is dead (a proxy cut it silently) and is
   * terminated, which fails its pending queries at once. Then refreshes this node's presence rows and drops rows
   * of nodes that stopped refreshing theirs.
   */
  #keepAlive(): void {
    for (const [connectionId, a] of this.#agents) {
      if (!a.alive) {
        this.#log.warn({ connectionId }, 'database agent did not answer a ping: closing its connection');
        a.ws.terminate();
        continue;
      }
      a.alive = false;
      try {
        a.ws.ping();
      } catch {
        a.ws.terminate();
      }
    }
    if (!this.#opts.bus) return;
    const held = [...this.#agents.keys()];
    this.#presence(async (q) => {
      if (held.length)
        await q.query(
          `INSERT INTO agent_presence (connection_id, node_id)
           SELECT c, $2::uuid FROM unnest($1::uuid[]) AS c WHERE EXISTS (SELECT 1 FROM db_connections d WHERE d.id = c)
           ON CONFLICT (connection_id, node_id) DO UPDATE SET seen_at = now()`,
          [held, this.#opts.bus?.nodeId],
        );
      await q.query(
        `DELETE FROM agent_presence WHERE seen_at < now() - make_interval(secs => $1::double precision / 1000)`,
        [this.#pingMs * 15],
      );
    });
  }

  /** Presence bookkeeping never fails a request or a socket: a missed write only makes forwarding less likely. */
  #presence(fn: (q: Queryable) => Promise<unknown>): void {
    if (!this.#opts.bus || this.#closing) return;
    this.#db.platform(fn).catch((err) => this.#log.warn({ err }, 'agent presence update failed'));
  }

  /**
   * Takes every `upgrade` on the server. Once a listener exists Node hands each upgrade request's socket to it
   * and to nothing else, so any socket this does not switch to a WebSocket must be answered and destroyed here:
   * an upgrade to any other path gets 404; one to `/agent` gets 429 when its address already has
   * `maxPendingPerIp` in progress, 401 without a valid agent token, and is destroyed if it is not switched
   * within `handshakeTimeoutMs`.
   */
  attach(server: Server): void {
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      socket.on('error', () => {});
      let path: string;
      try {
        path = new URL(req.url ?? '/', 'http://x').pathname;
      } catch {
        path = '';
      }
      if (path !== '/agent') {
        refuse(socket, '404 Not Found', 'not_found', 'WebSocket upgrades are served on /agent only');
        return;
      }
      const key = ipLimitKey(req.socket.remoteAddress ?? '');
      const busy = this.#inProgress.get(key) ?? 0;
      if (busy >= this.#opts.maxPendingPerIp) {
        refuse(
          socket,
          '429 Too Many Requests',
          'rate_limited',
          'Too many agent handshakes from this address',
        );
        return;
      }
      this.#inProgress.set(key, busy + 1);
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        const n = (this.#inProgress.get(key) ?? 1) - 1;
        if (n > 0) this.#inProgress.set(key, n);
        else this.#inProgress.delete(key);
      };
      const timer = setTimeout(() => {
        finish();
        socket.destroy();
      }, this.#opts.handshakeTimeoutMs);
      timer.unref();
      socket.once('close', finish);
      this.#authenticate(req).then(
        (connectionId) => {
          if (done || socket.destroyed) return finish();
          finish();
          if (!connectionId) {
            refuse(socket, '401 Unauthorized', 'unauthorized', 'A valid agent token is required');
            return;
          }
          this.#wss.handleUpgrade(req, socket, head, (ws) => this.#register(connectionId, ws));
        },
        () => {
          finish();
          socket.destroy();
        },
      );
    });
  }

  async #authenticate(req: IncomingMessage): Promise<string | null> {
    const auth = req.headers.authorization ?? '';
    const token = auth.startsWith('Bearer ') ? auth.slice(7) : '';
    if (!isAgentToken(token)) return null;
    const { rows } = await this.#db.tx({ orgId: null }, (q) =>
      // A suspended org's agents are refused like an unknown token (orgs has no RLS).
      q.query<{ id: string }>(
        `SELECT a.id::text AS id FROM rampart_find_agent_token($1) a
           JOIN orgs o ON o.id = a.org_id WHERE o.suspended_at IS NULL`,
        [hashAgentToken(token)],
      ),
    );
    return rows[0]?.id ?? null;
  }

  #register(connectionId: string, ws: WebSocket): void {
    if (this.#closing) {
      ws.close(1001, 'server shutting down');
      return;
    }
    this.#agents.get(connectionId)?.ws.close(4000, 'replaced by a newer agent');
    const agent: Agent = { ws, pending: new Map(), alive: true };
    this.#agents.set(connectionId, agent);
    this.#log.info({ connectionId }, 'database agent connected');
    const nodeId = this.#opts.bus?.nodeId;
    this.#presence((q) =>
      q.query(
        `INSERT INTO agent_presence (connection_id, node_id) VALUES ($1, $2)
         ON CONFLICT (connection_id, node_id) DO UPDATE SET connected_at = now(), seen_at = now()`,
        [connectionId, nodeId],
      ),
    );
    ws.on('pong', () => {
      agent.alive = true;
    });
    ws.on('message', (data) => {
      agent.alive = true;
      let msg: {
        type?: string;
        id?: string;
        result?: AgentResult;
        error?: { code?: string; message?: string };
      };
      try {
        msg = JSON.parse(String(data));
      } catch {
        return;
      }
      // `null` (valid JSON) would throw below, outside any handler: an agent must not be able to crash the node.
      if (typeof msg !== 'object' || msg === null || typeof msg.id !== 'string') return;
      const p = msg.id ? agent.pending.get(msg.id) : undefined;
      if (!p || !msg.id) return;
      agent.pending.delete(msg.id);
      clearTimeout(p.timer);
      if (msg.type === 'result' && isResult(msg.result)) p.resolve(msg.result);
      else
        p.reject(
          new AppError(
            msg.error?.code === 'query_not_allowed' || msg.error?.code === 'upstream_timeout'
              ? msg.error.code
              : 'bad_gateway',
            `The agent refused or failed the query: ${String(msg.error?.message ?? 'unknown error').slice(0, 300)}`,
          ),
        );
    });
    ws.on('close', () => {
      if (this.#agents.get(connectionId) === agent) {
        this.#agents.delete(connectionId);
        // Not when a newer socket replaced this one: its row is the same row.
        this.#presence((q) =>
          q.query('DELETE FROM agent_presence WHERE connection_id = $1 AND node_id = $2', [
            connectionId,
            nodeId,
          ]),
        );
      }
      for (const p of agent.pending.values()) {
        clearTimeout(p.timer);
        p.reject(new AppError('service_unavailable', 'The agent disconnected before answering'));
      }
      agent.pending.clear();
    });
    ws.on('error', () => {});
  }

  connected(connectionId: string): boolean {
    return this.#agents.has(connectionId);
  }

  /**
   * Runs a (server-validated) query on the connection's agent and waits for its answer: on this node when it
   * holds the agent, else on a node that does, over the bus.
   * @throws AppError service_unavailable (no node holds the agent) | upstream_timeout (504) | query_not_allowed |
   *   bad_gateway
   */
  async query(
    connectionId: string,
    sql: string,
    params: readonly unknown[],
    timeoutMs: number,
  ): Promise<AgentResult> {
    const agent = this.#agents.get(connectionId);
    if (agent) return this.#ask(agent, sql, params, timeoutMs);
    const bus = this.#opts.bus;
    // Closing: this node no longer listens on its channel, so a forwarded query's answer could never arrive.
    if (bus && !this.#closing) {
      for (const node of await this.#holders(connectionId, bus.nodeId)) {
        try {
          return await this.#forward(bus, node, connectionId, sql, params, timeoutMs);
        } catch (err) {
          // That node no longer holds it (it disconnected since its last ping): try the next.
          if (!(err instanceof NotHere)) throw err;
        }
      }
    }
    throw new AppError('service_unavailable', 'The agent for this connection is not connected');
  }

  /** Other nodes holding the agent, most recently seen first, among those seen within three pings. */
  async #holders(connectionId: string, self: string): Promise<string[]> {
    const { rows } = await this.#db.platform((q) =>
      q.query<{ node_id: string }>(
        `SELECT node_id::text AS node_id FROM agent_presence
          WHERE connection_id = $1 AND node_id <> $2
            AND seen_at > now() - make_interval(secs => $3::double precision / 1000)
          ORDER BY seen_at DESC LIMIT 3`,
        [connectionId, self, this.#pingMs * 3],
      ),
    );
    return rows.map((r) => r.node_id);
  }

  #ask(agent: Agent, sql: string, params: readonly unknown[], timeoutMs: number): Promise<AgentResult> {
    const id = newId();
    return new Promise<AgentResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        agent.pending.delete(id);
        reject(new AppError('upstream_timeout', `The agent did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      agent.pending.set(id, { resolve, reject, timer });
      agent.ws.send(JSON.stringify({ type: 'query', id, sql, params }));
    });
  }

  #forward(
    bus: Bus,
    node: string,
    connectionId: string,
    sql: string,
    params: readonly unknown[],
    timeoutMs: number,
  ): Promise<AgentResult> {
    const id = newId();
    const ring = this.#ring();
    // `exp`: when the asking node stops waiting; the node serving it refuses it after that (replays).
    const exp = Date.now() + timeoutMs + FORWARD_GRACE_MS;
    const box = seal(ring, JSON.stringify({ sql, params, timeoutMs, exp }), queryAad(id, connectionId));
    return new Promise<AgentResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#remote.delete(id);
        reject(new AppError('upstream_timeout', `The agent did not answer within ${timeoutMs} ms`));
      }, timeoutMs + FORWARD_GRACE_MS);
      this.#remote.set(id, { resolve, reject, timer });
      bus.publish(nodeChannel(node), { t: 'query', id, from: bus.nodeId, connectionId, box }).catch(() => {
        const p = this.#remote.get(id);
        if (!p) return;
        this.#remote.delete(id);
        clearTimeout(p.timer);
        p.reject(new AppError('service_unavailable', 'The node bus is unavailable'));
      });
    });
  }

  #ring(): KeyRing {
    if (!this.#opts.ring) throw new Error('AgentHub: a key ring is required with a bus');
    return this.#opts.ring;
  }

  /** A message on this node's channel: a query to run for another node, or the answer to one this node sent. */
  #onBus(m: BusMessage): void {
    const bus = this.#opts.bus;
    if (!bus || typeof m.id !== 'string' || !isUuid(m.id)) return;
    if (m.t === 'query') {
      if (typeof m.from !== 'string' || !isUuid(m.from) || typeof m.connectionId !== 'string') return;
      void this.#serve(bus, m.id, m.from, m.connectionId, m.box);
      return;
    }
    const p = this.#remote.get(m.id);
    if (!p) return; // timed out already, or answered: an answer settles its request once
    this.#remote.delete(m.id);
    clearTimeout(p.timer);
    if (m.t === 'result' && typeof m.box === 'string') {
      try {
        p.resolve(JSON.parse(openString(this.#ring(), m.box, busAad('result', m.id))) as AgentResult);
      } catch {
        p.reject(
          new AppError('bad_gateway', 'The answer from the node holding the agent could not be opened'),
        );
      }
    } else if (m.t === 'not_here') {
      p.reject(new NotHere());
    } else {
      let e: { code?: unknown; message?: unknown } = {};
      try {
        if (m.t === 'error' && typeof m.box === 'string')
          e = JSON.parse(openString(this.#ring(), m.box, busAad('result', m.id))) ?? {};
      } catch {
        // Not sealed with this deployment's keys: a bare bad_gateway, no text from it.
      }
      const code = PASSED_CODES.has(e.code as ErrorCode) ? (e.code as ErrorCode) : 'bad_gateway';
      p.reject(new AppError(code, String(e.message ?? 'The agent failed the query').slice(0, 400)));
    }
  }

  /** Runs a query another node forwarded, on the agent held here, and answers on that node's channel. */
  async #serve(bus: Bus, id: string, from: string, connectionId: string, box: unknown): Promise<void> {
    const reply = (msg: BusMessage) =>
      bus.publish(nodeChannel(from), { id, ...msg }).catch((err) => {
        this.#log.warn({ err }, 'could not answer a forwarded agent query');
      });
    const agent = this.#agents.get(connectionId);
    if (!agent) return reply({ t: 'not_here' });
    let q: { sql: string; params: unknown[]; timeoutMs: number; exp: number };
    try {
      if (typeof box !== 'string') throw new Error('no box');
      q = JSON.parse(openString(this.#ring(), box, queryAad(id, connectionId)));
      if (
        typeof q.sql !== 'string' ||
        !Array.isArray(q.params) ||
        !Number.isFinite(q.timeoutMs) ||
        !Number.isFinite(q.exp)
      )
        throw new Error('shape');
    } catch {
      // Not sealed with this deployment's keys: not from one of its nodes.
      this.#log.warn({ connectionId }, 'dropped a forwarded agent query that could not be opened');
      return;
    }
    // Each forwarded query runs once: a copy sent again on the bus (a replay) is dropped, by id while the
    // asking node may still wait for it, by its sealed expiry after that.
    const now = Date.now();
    if (q.exp + CLOCK_SKEW_MS < now || this.#served.has(id)) {
      this.#log.warn({ connectionId }, 'dropped a forwarded agent query seen before or expired');
      return;
    }
    for (const [seen, until] of this.#served) {
      if (until >= now && this.#served.size < MAX_SERVED) break;
      this.#served.delete(seen);
    }
    this.#served.set(id, q.exp + CLOCK_SKEW_MS);
    try {
      const result = await this.#ask(agent, q.sql, q.params, Math.min(q.timeoutMs, 120_000));
      await reply({ t: 'result', box: seal(this.#ring(), JSON.stringify(result), busAad('result', id)) });
    } catch (err) {
      const e = err instanceof AppError ? err : new AppError('bad_gateway', 'The agent failed the query');
      // Sealed like rows: the database's own error text can quote a value from a row or a parameter.
      const refusal = JSON.stringify({ code: e.code, message: e.message });
      await reply({ t: 'error', box: seal(this.#ring(), refusal, busAad('result', id)) });
    }
  }

  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    if (this.#ping) clearInterval(this.#ping);
    this.#unsubscribe?.();
    for (const p of this.#remote.values()) {
      clearTimeout(p.timer);
      p.reject(new AppError('service_unavailable', 'The server is shutting down'));
    }
    this.#remote.clear();
    const held = [...this.#agents.keys()];
    for (const a of this.#agents.values()) a.ws.close(1001, 'server shutting down');
    this.#agents.clear();
    const bus = this.#opts.bus;
    if (bus && held.length)
      await this.#db
        .platform((q) => q.query('DELETE FROM agent_presence WHERE node_id = $1', [bus.nodeId]))
        .catch(() => {});
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
  }
}

/** An agent's answer has the shape callers read (anything else is the agent failing the query). */
function isResult(r: unknown): r is AgentResult {
  if (typeof r !== 'object' || r === null) return false;
  const o = r as Record<string, unknown>;
  return (
    Array.isArray(o.columns) &&
    Array.isArray(o.rows) &&
    o.rows.every((row) => Array.isArray(row)) &&
    typeof o.rowCount === 'number' &&
    typeof o.truncated === 'boolean'
  );
}

/** The node asked no longer holds the agent: the asking node tries the next holder. */
class NotHere extends Error {}

const busAad = (direction: 'query' | 'result', id: string) => ({
  orgId: null,
  table: 'node_bus',
  column: `agent_${direction}`,
  rowId: id,
});

/**
 * A query is sealed to the connection it is for: the connection id travels in the clear, and one who can
 * publish on the bus must not be able to replay an org's query against another org's agent (the answer would
 * settle the first org's request with the second org's rows).
 */
const queryAad = (id: string, connectionId: string) => busAad('query', `${id}:${connectionId}`);
