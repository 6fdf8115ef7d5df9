/**
 * A small, bounded in-process TTL cache. Used for credential lookups keyed by their hash (API keys, runtime
 * tokens: identity/authenticate.ts) and for gateway routes. Deleting on this node takes effect at once; other
 * nodes drop theirs when the change is announced on the node bus (platform/invalidation.ts), and serve a stale
 * entry for at most `ttlMs` when that message is lost (the documented bound for revoked keys, default 5 s). Bounded
 * size: the oldest entries are evicted first.
 */
export class TtlCache<V> {
  readonly #entries = new Map<string, { value: V; expires: number }>();
  readonly #ttlMs: number;
  readonly #max: number;

  constructor(ttlMs: number, max = 10_000) {
    this.#ttlMs = ttlMs;
    this.#max = max;
  }

  get(key: string, now = Date.now()): V | undefined {
    const e = this.#entries.get(key);
    if (!e) return undefined;
    if (e.expires <= now) {
      this.#entries.delete(key);
      return undefined;
    }
    return e.value;
  }

  set(key: string, value: V, now = Date.now()): void {
    if (this.#entries.size >= this.#max) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
    this.#entries.set(key, { value, expires: now + this.#ttlMs });
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }

  clear(): void {
    this.#entries.clear();
  }

  /** Drops every entry matching a predicate (revoking by id when only the id is known). */
  deleteWhere(pred: (v: V) => boolean): void {
    for (const [k, e] of this.#entries) if (pred(e.value)) this.#entries.delete(k);
  }
}
