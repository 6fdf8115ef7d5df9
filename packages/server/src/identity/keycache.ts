/**
 * A small TTL cache for credential lookups (API keys, runtime tokens) keyed by their hash. Revocation on this
 * node deletes the entry at once; other nodes serve a revoked key for at most `ttlMs` (documented bound,
 * default 5 s). Bounded size: the oldest entries are evicted first.
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

  /** Drops every entry matching a predicate (revoking by id when only the id is known). */
  deleteWhere(pred: (v: V) => boolean): void {
    for (const [k, e] of this.#entries) if (pred(e.value)) this.#entries.delete(k);
  }
}
