import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { hashAgentToken, isAgentToken } from '@rampart/core/apikeys';
import type { Logger } from 'pino';
import { type WebSocket, WebSocketServer } from 'ws';
import type { Database } from '../db/database.js';
import { AppError } from '../platform/errors.js';
import { newId } from '../platform/ids.js';
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
}

export interface AgentHubOptions {
  /** An upgrade to `/agent` not authenticated and switched within this many ms is dropped. */
  handshakeTimeoutMs: number;
  /** Upgrades to `/agent` in progress at once from one client address (IPv6: its /64); more get 429. */
  maxPendingPerIp: number;
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
 */
export class AgentHub {
  readonly #agents = new Map<string, Agent>();
  readonly #wss = new WebSocketServer({ noServer: true, maxPayload: 10 * 1024 * 1024 });
  readonly #db: Database;
  readonly #log: Logger;
  readonly #opts: AgentHubOptions;
  /** Upgrades to `/agent` between the request and the switch (or refusal), per client address key. */
  readonly #inProgress = new Map<string, number>();

  constructor(db: Database, log: Logger, opts: AgentHubOptions) {
    this.#db = db;
    this.#log = log;
    this.#opts = opts;
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
      q.query<{ id: string }>('SELECT id::text AS id FROM rampart_find_agent_token($1)', [
        hashAgentToken(token),
      ]),
    );
    return rows[0]?.id ?? null;
  }

  #register(connectionId: string, ws: WebSocket): void {
    this.#agents.get(connectionId)?.ws.close(4000, 'replaced by a newer agent');
    const agent: Agent = { ws, pending: new Map() };
    this.#agents.set(connectionId, agent);
    this.#log.info({ connectionId }, 'database agent connected');
    ws.on('message', (data) => {
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
      const p = msg.id ? agent.pending.get(msg.id) : undefined;
      if (!p || !msg.id) return;
      agent.pending.delete(msg.id);
      clearTimeout(p.timer);
      if (msg.type === 'result' && msg.result) p.resolve(msg.result);
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
      if (this.#agents.get(connectionId) === agent) this.#agents.delete(connectionId);
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

  /** Sends a (server-validated) query to the connection's agent and waits for its answer. */
  query(
    connectionId: string,
    sql: string,
    params: readonly unknown[],
    timeoutMs: number,
  ): Promise<AgentResult> {
    const agent = this.#agents.get(connectionId);
    if (!agent)
      return Promise.reject(
        new AppError('service_unavailable', 'The agent for this connection is not connected'),
      );
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

  async close(): Promise<void> {
    for (const a of this.#agents.values()) a.ws.close(1001, 'server shutting down');
    this.#agents.clear();
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
  }
}
