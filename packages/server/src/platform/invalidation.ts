import { type KeyRing, openString, seal } from '@rampart/core/seal';
import type { Logger } from 'pino';
import type { Bus } from './bus.js';

/** What a node may cache and must drop when it changes anywhere. */
export const INVALIDATION_KINDS = [
  'api_key',
  'runtime_token',
  'cli_credential',
  'org',
  'routing',
  'platform_settings',
] as const;
export type InvalidationKind = (typeof INVALIDATION_KINDS)[number];

const CHANNEL = 'invalidate';
const AAD = { orgId: null, table: 'node_bus', column: 'invalidation', rowId: 'invalidate' };
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
  readonly #ring: KeyRing | undefined;

  /**
   * With `ring`, announcements cross the bus sealed with the deployment's master keys and only sealed ones are
   * applied: on PostgreSQL any role that may connect can NOTIFY, and a stream of forged invalidations would
   * empty every node's caches (every request a database lookup).
   */
  constructor(bus?: Bus, log?: Logger, ring?: KeyRing) {
    this.#bus = bus;
    this.#log = log;
    this.#ring = ring;
  }

  /** Subscribes to the bus; resolves once other nodes' announcements reach this one. */
  async start(): Promise<void> {
    const bus = this.#bus;
    if (!bus) return;
    await bus.subscribe(CHANNEL, (raw) => {
      if (raw.from === bus.nodeId) return; // dropped locally when announced
      const m = this.#open(raw);
      const kind = m?.kind as InvalidationKind;
      if (!m || !INVALIDATION_KINDS.includes(kind) || typeof m.id !== 'string' || !ID.test(m.id)) return;
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
      const body = { kind, id, at: Date.now() };
      await bus.publish(
        CHANNEL,
        this.#ring
          ? { from: bus.nodeId, box: seal(this.#ring, JSON.stringify(body), AAD) }
          : { ...body, from: bus.nodeId },
      );
    } catch (err) {
      this.#log?.warn({ err, kind }, 'could not announce an invalidation: other nodes rely on the cache TTL');
    }
  }

  /** The announcement in a message: from its sealed box when this node has keys (else none), else as sent. */
  #open(m: Record<string, unknown>): Record<string, unknown> | undefined {
    if (!this.#ring) return m;
    if (typeof m.box !== 'string') return undefined;
    try {
      const body: unknown = JSON.parse(openString(this.#ring, m.box, AAD));
      return typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : undefined;
    } catch {
      return undefined;
    }
  }

  #drop(kind: InvalidationKind, id: string): void {
    for (const fn of this.#handlers.get(kind) ?? []) fn(id);
  }
}
