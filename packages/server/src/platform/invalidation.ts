import type { Logger } from 'pino';
import type { Bus } from './bus.js';

/** What a node may cache and must drop when it changes anywhere. */
export const INVALIDATION_KINDS = ['api_key', 'runtime_token', 'cli_credential', 'org', 'routing'] as const;
export type InvalidationKind = (typeof INVALIDATION_KINDS)[number];

const CHANNEL = 'invalidate';
const ID = /^[0-9a-f-]{36}$/;

/**
 * Cache invalidation across nodes. `announce(kind, id)` drops the entry on this node at once and tells every
 * other node over the bus, which drops it on receipt (revocation, org deletion, provider and settings changes).
 * The caches' own TTL (5 s) stays the bound when a message is lost; when the bus reports it reconnected after an
 * outage, every node drops everything it cached, since what it missed is unknown.
 */
export class Invalidations {
  readonly #handlers = new Map<InvalidationKind, Set<(id: string) => void>>();
  readonly #resets = new Set<() => void>();
  readonly #bus: Bus | undefined;
  readonly #log: Logger | undefined;

  constructor(bus?: Bus, log?: Logger) {
    this.#bus = bus;
    this.#log = log;
  }

  /** Subscribes to the bus; resolves once other nodes' announcements reach this one. */
  async start(): Promise<void> {
    const bus = this.#bus;
    if (!bus) return;
    await bus.subscribe(CHANNEL, (m) => {
      if (m.from === bus.nodeId) return; // dropped locally when announced
      const kind = m.kind as InvalidationKind;
      if (!INVALIDATION_KINDS.includes(kind) || typeof m.id !== 'string' || !ID.test(m.id)) return;
      this.#drop(kind, m.id);
    });
    bus.onReconnect(() => {
      for (const fn of this.#resets) fn();
    });
  }

  /** Registers how this node drops one entry of a kind. */
  on(kind: InvalidationKind, fn: (id: string) => void): void {
    const set = this.#handlers.get(kind) ?? new Set();
    this.#handlers.set(kind, set);
    set.add(fn);
  }

  /** Registers how this node drops everything it caches (after a bus outage). */
  onReset(fn: () => void): void {
    this.#resets.add(fn);
  }

  /**
   * Drops the entry here, then tells the other nodes. Never throws: a bus that is down leaves the TTL as the
   * bound, and the caller's change (already committed) must not be reported as failed.
   */
  async announce(kind: InvalidationKind, id: string): Promise<void> {
    this.#drop(kind, id);
    const bus = this.#bus;
    if (!bus) return;
    try {
      await bus.publish(CHANNEL, { kind, id, from: bus.nodeId, at: Date.now() });
    } catch (err) {
      this.#log?.warn({ err, kind }, 'could not announce an invalidation: other nodes rely on the cache TTL');
    }
  }

  #drop(kind: InvalidationKind, id: string): void {
    for (const fn of this.#handlers.get(kind) ?? []) fn(id);
  }
}
