import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import type { Logger } from 'pino';

/**
 * The node bus: messages between the Rampart nodes of one deployment (cache invalidations, agent queries
 * forwarded to the node holding the agent's WebSocket). Redis pub/sub when `REDIS_URL` is set, else
 * PostgreSQL LISTEN/NOTIFY on `DATABASE_URL`, else (PGlite: one process) in-process delivery.
 *
 * Delivery is at most once: a node that is reconnecting misses what was sent meanwhile. Every user of the bus
 * therefore has a bound that does not depend on it (credential caches expire after 5 s; forwarded queries time
 * out), and `onReconnect` tells them that messages may have been lost (caches drop everything).
 *
 * The bus is inside the deployment's trust boundary, like the database and Redis themselves; what crosses it
 * that is not already in the database (agent queries and their rows) is sealed by its users (dbaccess/agent-hub.ts).
 */
export interface Bus {
  readonly kind: 'local' | 'redis' | 'postgres';
  /** This process's id on the bus (a UUID, new at every start). */
  readonly nodeId: string;
  /** Sends to every node subscribed to `channel`, this one included. Rejects when the transport is down. */
  publish(channel: string, message: BusMessage): Promise<void>;
  /** Resolves once the subscription is live (a message published after that reaches `fn`). */
  subscribe(channel: string, fn: (message: BusMessage) => void): Promise<() => void>;
  /** Called after the transport came back from an outage: messages sent during it are lost. */
  onReconnect(fn: () => void): () => void;
  close(): Promise<void>;
}

export type BusMessage = Record<string, unknown>;

/** Channels: lower-case names with `:` separators; `node:<uuid>` addresses one node. */
const CHANNEL = /^[a-z][a-z0-9_-]{0,12}(?::[a-z0-9-]{1,40})?$/;

export const nodeChannel = (nodeId: string): string => `node:${nodeId}`;

function checkChannel(channel: string): void {
  if (!CHANNEL.test(channel)) throw new TypeError(`bus: invalid channel name ${JSON.stringify(channel)}`);
}

/** Handlers per channel, and the dispatch every transport shares. */
abstract class BaseBus implements Bus {
  abstract readonly kind: Bus['kind'];
  readonly nodeId = randomUUID();
  protected readonly handlers = new Map<string, Set<(m: BusMessage) => void>>();
  readonly #reconnect = new Set<() => void>();
  protected readonly log: Logger;
  protected closed = false;

  constructor(log: Logger) {
    this.log = log;
  }

  abstract publish(channel: string, message: BusMessage): Promise<void>;
  protected abstract listen(channel: string): Promise<void>;
  protected abstract unlisten(channel: string): Promise<void>;
  abstract close(): Promise<void>;

  async subscribe(channel: string, fn: (message: BusMessage) => void): Promise<() => void> {
    checkChannel(channel);
    let set = this.handlers.get(channel);
    if (!set) {
      set = new Set();
      this.handlers.set(channel, set);
      await this.listen(channel);
    }
    set.add(fn);
    return () => {
      const s = this.handlers.get(channel);
      if (!s?.delete(fn) || s.size) return;
      this.handlers.delete(channel);
      if (!this.closed) this.unlisten(channel).catch(() => {});
    };
  }

  onReconnect(fn: () => void): () => void {
    this.#reconnect.add(fn);
    return () => this.#reconnect.delete(fn);
  }

  protected reconnected(): void {
    this.log.warn({ bus: this.kind }, 'node bus reconnected: messages sent meanwhile may be lost');
    for (const fn of this.#reconnect) fn();
  }

  /** Parses a raw payload and hands it to the channel's handlers; anything malformed is dropped. */
  protected deliver(channel: string, raw: string): void {
    const set = this.handlers.get(channel);
    if (!set?.size) return;
    let message: unknown;
    try {
      message = JSON.parse(raw);
    } catch {
      this.log.warn({ channel }, 'node bus: dropped a malformed message');
      return;
    }
    if (typeof message !== 'object' || message === null || Array.isArray(message)) return;
    for (const fn of set) {
      try {
        fn(message as BusMessage);
      } catch (err) {
        this.log.error({ err, channel }, 'node bus handler failed');
      }
    }
  }
}

/** One process (PGlite): delivery in the same process, asynchronously like the real transports. */
export class LocalBus extends BaseBus {
  readonly kind = 'local';

  async publish(channel: string, message: BusMessage): Promise<void> {
    checkChannel(channel);
    if (this.closed) throw new Error('bus closed');
    const raw = JSON.stringify(message);
    setImmediate(() => this.deliver(channel, raw));
  }

  protected async listen(): Promise<void> {}
  protected async unlisten(): Promise<void> {}

  async close(): Promise<void> {
    this.closed = true;
    this.handlers.clear();
  }
}

const PUBLISH_TIMEOUT_MS = 2_000;

/**
 * How often a bus checks that its listening connection still answers. A connection a NAT or firewall forgot
 * fails nothing by itself: the node would hear no invalidation and no forwarded agent query again, and never
 * know. A check that gets no answer within the interval drops the connection, and the reconnect is reported.
 */
const HEARTBEAT_MS = 10_000;

export interface BusTransportOptions {
  /** Heartbeat interval and timeout on the listening connection, ms (default 10 s). */
  heartbeatMs?: number;
}

/** Redis pub/sub: one connection subscribes (ioredis re-subscribes after a reconnect), one publishes. */
export class RedisBus extends BaseBus {
  readonly kind = 'redis';
  readonly #pub: Redis;
  readonly #sub: Redis;
  #everReady = false;
  readonly #heartbeat: NodeJS.Timeout;
  #beating = false;

  constructor(url: string, log: Logger, opts: BusTransportOptions = {}) {
    super(log);
    const heartbeatMs = opts.heartbeatMs ?? HEARTBEAT_MS;
    this.#pub = new Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: false });
    this.#sub = new Redis(url, {
      maxRetriesPerRequest: null,
      autoResubscribe: true,
      connectionName: `rampart-bus-${this.nodeId}`,
    });
    this.#pub.on('error', () => {}); // surfaced as a failed publish
    this.#sub.on('error', (err) => this.log.debug({ err }, 'node bus (redis) connection error'));
    this.#sub.on('ready', () => {
      if (this.#everReady && !this.closed) this.reconnected();
      this.#everReady = true;
    });
    this.#sub.on('message', (channel: string, raw: string) => this.deliver(fromRedis(channel), raw));
    this.#heartbeat = setInterval(() => {
      if (this.#beating || this.closed || this.#sub.status !== 'ready') return;
      this.#beating = true;
      const sub = this.#sub;
      withTimeout(sub.ping(), 'redis ping', heartbeatMs)
        .catch(() => {
          if (this.closed || sub.status !== 'ready') return;
          this.log.warn({ bus: this.kind }, 'node bus connection did not answer a ping: reconnecting');
          sub.stream?.destroy(); // not end(): a connection nobody answers would never finish closing
        })
        .finally(() => {
          this.#beating = false;
        });
    }, heartbeatMs);
    this.#heartbeat.unref();
  }

  async publish(channel: string, message: BusMessage): Promise<void> {
    checkChannel(channel);
    await withTimeout(this.#pub.publish(toRedis(channel), JSON.stringify(message)), 'redis publish');
  }

  protected async listen(channel: string): Promise<void> {
    await this.#sub.subscribe(toRedis(channel));
  }

  protected async unlisten(channel: string): Promise<void> {
    await this.#sub.unsubscribe(toRedis(channel));
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.#heartbeat);
    this.handlers.clear();
    this.#sub.disconnect();
    this.#pub.disconnect();
  }
}

const toRedis = (channel: string) => `rampart:bus:${channel}`;
const fromRedis = (channel: string) => channel.slice('rampart:bus:'.length);

/**
 * PostgreSQL LISTEN/NOTIFY. One dedicated connection listens and reconnects with back-off (re-LISTENing every
 * channel); publishing goes through the pool. A NOTIFY payload is at most 8000 bytes, so a longer message is
 * cut into numbered chunks sent by one statement (delivered together at commit) and put back together here.
 */
export class PgBus extends BaseBus {
  readonly kind = 'postgres';
  readonly #url: string;
  readonly #notify: (channel: string, payloads: string[]) => Promise<void>;
  #client: pg.Client | undefined;
  #connecting: Promise<void> | undefined;
  #retry: NodeJS.Timeout | undefined;
  #backoffMs = 250;
  /** LISTEN name → channel, for the channels this process subscribed to. */
  readonly #names = new Map<string, string>();
  readonly #partial = new Map<
    string,
    { parts: Map<number, string>; total: number; at: number; bytes: number }
  >();
  #partialBytes = 0;
  readonly #heartbeatMs: number;
  #heartbeat: NodeJS.Timeout | undefined;
  #beating = false;

  /** `notify` sends the payloads with pg_notify in one statement (the caller's pool). */
  constructor(
    url: string,
    notify: (channel: string, payloads: string[]) => Promise<void>,
    log: Logger,
    opts: BusTransportOptions = {},
  ) {
    super(log);
    this.#url = url;
    this.#notify = notify;
    this.#heartbeatMs = opts.heartbeatMs ?? HEARTBEAT_MS;
  }

  /** Connects the listening client; called once at start, before any subscribe. */
  async start(): Promise<void> {
    await this.#connect();
    this.#heartbeat ??= setInterval(() => this.#beat(), this.#heartbeatMs);
    this.#heartbeat.unref();
  }

  #beat(): void {
    const client = this.#client;
    if (!client || this.#beating || this.closed) return;
    this.#beating = true;
    withTimeout(client.query('SELECT 1'), 'bus heartbeat', this.#heartbeatMs)
      .catch(() => {
        if (this.#client !== client) return;
        this.log.warn({ bus: this.kind }, 'node bus connection did not answer: reconnecting');
        this.#lost(client);
      })
      .finally(() => {
        this.#beating = false;
      });
  }

  /** The listening connection is gone (or unanswering): drop it for good and reconnect. */
  #lost(client: pg.Client): void {
    if (this.#client !== client) return;
    this.#client = undefined;
    // Destroyed, not only ended: end() waits for a server that may never answer.
    (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
    client.end().catch(() => {});
    this.#scheduleReconnect();
  }

  async publish(channel: string, message: BusMessage): Promise<void> {
    checkChannel(channel);
    await withTimeout(this.#notify(toPg(channel), chunk(JSON.stringify(message))), 'pg_notify');
  }

  protected async listen(channel: string): Promise<void> {
    this.#names.set(toPg(channel), channel);
    await this.#connecting;
    await this.#client?.query(`LISTEN "${toPg(channel)}"`);
  }

  protected async unlisten(channel: string): Promise<void> {
    await this.#client?.query(`UNLISTEN "${toPg(channel)}"`);
  }

  #connect(): Promise<void> {
    const client = new pg.Client({
      connectionString: this.#url,
      connectionTimeoutMillis: 10_000,
      keepAlive: true,
    });
    const lost = () => this.#lost(client);
    client.on('error', lost);
    client.on('end', lost);
    client.on('notification', (n) => {
      const channel = this.#names.get(n.channel);
      if (channel && n.payload !== undefined) this.#receive(channel, n.payload);
    });
    this.#connecting = (async () => {
      await client.connect();
      for (const channel of this.handlers.keys()) await client.query(`LISTEN "${toPg(channel)}"`);
      this.#client = client;
    })();
    return this.#connecting;
  }

  #scheduleReconnect(): void {
    if (this.closed || this.#retry) return;
    const delay = this.#backoffMs;
    this.#backoffMs = Math.min(this.#backoffMs * 2, 5_000);
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      this.#connect().then(
        () => {
          this.#backoffMs = 250;
          this.reconnected();
        },
        () => this.#scheduleReconnect(),
      );
    }, delay);
    this.#retry.unref();
  }

  #receive(channel: string, payload: string): void {
    const m = CHUNK.exec(payload);
    if (!m) {
      this.deliver(channel, payload);
      return;
    }
    const [, id = '', i = '0', n = '0'] = m;
    const index = Number(i);
    const total = Number(n);
    const body = payload.slice(m[0].length);
    const now = Date.now();
    let entry = this.#partial.get(id);
    if (!entry) {
      // The header is anyone's who can NOTIFY (any role that may connect): nothing is sized by it up front.
      if (total < 2 || total > MAX_CHUNKS) return;
      this.#expirePartials(now);
      entry = { parts: new Map(), total, at: now, bytes: 0 };
      this.#partial.set(id, entry);
    }
    if (index >= entry.total || entry.parts.has(index)) return;
    entry.parts.set(index, body);
    entry.bytes += body.length;
    this.#partialBytes += body.length;
    if (entry.parts.size < entry.total) return;
    this.#partial.delete(id);
    this.#partialBytes -= entry.bytes;
    const parts = entry.parts;
    this.deliver(channel, Array.from({ length: entry.total }, (_, i) => parts.get(i)).join(''));
  }

  /** Drops messages whose chunks stopped coming (a publisher died mid-message), and bounds the memory held. */
  #expirePartials(now: number): void {
    for (const [id, e] of this.#partial) {
      if (now - e.at < 60_000 && this.#partialBytes < 256 * 1024 * 1024 && this.#partial.size < MAX_PARTIAL)
        break;
      this.#partial.delete(id);
      this.#partialBytes -= e.bytes;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.handlers.clear();
    if (this.#retry) clearTimeout(this.#retry);
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    const c = this.#client;
    this.#client = undefined;
    await c?.end().catch(() => {});
  }
}

/** A LISTEN name: `rampart_` and the channel with `:` and `-` as `_` (CHANNEL keeps it within 63 characters). */
const toPg = (channel: string) => `rampart_${channel.replace(/[:-]/g, '_')}`;

/** `~<message id>:<index>:<count>:` then the chunk. A whole message never starts with `~` (it is JSON). */
const CHUNK = /^~([0-9a-f-]{36}):(\d{1,6}):(\d{1,6}):/;
/** Chunks in one message at most: 38 M characters, far above the largest (an agent answer, 10 MB before sealing). */
const MAX_CHUNKS = 20_000;
/** Messages being put together at once at most; the oldest goes first. */
const MAX_PARTIAL = 1_000;
/** Characters per chunk: 1,900 UTF-16 units are at most 7,600 UTF-8 bytes, under NOTIFY's 8,000 with the header. */
const CHUNK_CHARS = 1_900;

/** Splits a message into NOTIFY-sized payloads (one when it fits), never inside a surrogate pair. */
export function chunk(raw: string): string[] {
  if (raw.length <= CHUNK_CHARS) return [raw];
  const parts: string[] = [];
  for (let i = 0; i < raw.length; ) {
    let end = Math.min(raw.length, i + CHUNK_CHARS);
    const last = raw.charCodeAt(end - 1);
    if (end < raw.length && last >= 0xd800 && last <= 0xdbff) end--;
    parts.push(raw.slice(i, end));
    i = end;
  }
  const id = randomUUID();
  return parts.map((p, i) => `~${id}:${i}:${parts.length}:${p}`);
}

async function withTimeout<T>(p: Promise<T>, what: string, ms = PUBLISH_TIMEOUT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export interface BusOptions {
  redisUrl?: string | undefined;
  databaseUrl?: string | undefined;
  /** Sends payloads with pg_notify through the database pool (PostgreSQL only). */
  notify: (pgChannel: string, payloads: string[]) => Promise<void>;
  logger: Logger;
}

/** Redis when configured, else PostgreSQL LISTEN/NOTIFY, else in-process (PGlite). */
export async function createBus(o: BusOptions): Promise<Bus> {
  if (o.redisUrl) return new RedisBus(o.redisUrl, o.logger);
  if (o.databaseUrl) {
    const bus = new PgBus(o.databaseUrl, o.notify, o.logger);
    await bus.start();
    return bus;
  }
  return new LocalBus(o.logger);
}
