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
  /** Bumped by every delete and clear (see {@link TtlCache.setIfUnchanged}). */
  #generation = 0;

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
    this.#generation++;
    this.#entries.delete(key);
  }

  clear(): void {
    this.#generation++;
    this.#entries.clear();
  }

  /** Drops every entry matching a predicate (revoking by id when only the id is known). */
  deleteWhere(pred: (v: V) => boolean): void {
    this.#generation++;
    for (const [k, e] of this.#entries) if (pred(e.value)) this.#entries.delete(k);
  }

  /** Read before loading a value, for {@link TtlCache.setIfUnchanged}. */
  get generation(): number {
    return this.#generation;
  }

  /**
   * Caches a value loaded since `generation` was read, unless something was dropped meanwhile: a load that read
   * a row before a revocation committed must not put it back after the revocation's invalidation went by (it
   * would be served for the whole TTL). Skipping is always safe: the next request loads again.
   */
  setIfUnchanged(key: string, value: V, generation: number, now = Date.now()): void {
    if (generation === this.#generation) this.set(key, value, now);
  }
}
