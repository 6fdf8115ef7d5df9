import { timingSafeEqual } from 'node:crypto';
import { MIN_SECRET_BYTES } from './session.js';

/** Key ids travel in every session's protected header (`kid`): short and printable, like master key ids. */
export const SESSION_KEY_ID_PATTERN = /^[A-Za-z0-9_-]{1,32}$/;

/**
 * The id of the key that verifies sessions without a `kid` header: the ones signed before signing keys had ids
 * (and ones signed with a bare secret, see {@link SessionKeys}). A single secret given without an id (the
 * server's `RAMPART_JWT_SECRET`) is this key, so moving it into a ring under this id keeps those sessions valid.
 */
export const LEGACY_KEY_ID = 'default';

function refuse(entry: number, problem: string): RangeError {
  return new RangeError(`entry ${entry}: ${problem}`);
}

/**
 * The keys that sign and verify sessions. The first key is the primary: it signs every new session, with its id
 * as the `kid` header. Every key verifies the sessions whose `kid` names it; a session without `kid` is verified
 * by the key with id {@link LEGACY_KEY_ID} only. That is what lets the key be rolled without signing anyone out:
 * add a new key after the current one, then move it first, then (once the old key's tokens have expired) drop
 * the old one.
 *
 * Key bytes live only in a private field and never appear in `JSON.stringify`, `util.inspect` or errors.
 *
 * @example const ring = SessionKeyRing.fromKeys([{ id: 'k2', key: k2 }, { id: 'k1', key: k1 }]);
 */
export class SessionKeyRing {
  readonly #keys: Map<string, Buffer>;
  readonly #ids: readonly string[];
  readonly #primaryId: string;

  private constructor(keys: Map<string, Buffer>, primaryId: string) {
    this.#keys = keys;
    this.#ids = Object.freeze([...keys.keys()]);
    this.#primaryId = primaryId;
  }

  /**
   * Builds a ring; the first key is the primary. Each id must match {@link SESSION_KEY_ID_PATTERN} and each key
   * be at least 32 bytes; ids and key material must be unique. The bytes are copied.
   *
   * @throws {RangeError} naming the bad entry by position (`entry 2: ...`); a duplicate id is named (ids are not
   *   secret: every session carries one), a malformed id is not (it is often a key pasted into the wrong place).
   * @example SessionKeyRing.fromKeys([{ id: 'default', key: secret }])
   */
  static fromKeys(keys: ReadonlyArray<{ id: string; key: Uint8Array }>): SessionKeyRing {
    if (!Array.isArray(keys) || keys.length === 0) {
      throw new RangeError('session key ring is empty: at least one key is required');
    }
    const map = new Map<string, Buffer>();
    const positions = new Map<string, number>();
    const seen: Array<{ entry: number; key: Buffer }> = [];
    keys.forEach(({ id, key }, index) => {
      const entry = index + 1;
      if (typeof id !== 'string' || !SESSION_KEY_ID_PATTERN.test(id)) {
        throw refuse(entry, 'key id must be 1-32 characters of A-Z, a-z, 0-9, _ or -');
      }
      if (!(key instanceof Uint8Array)) throw refuse(entry, 'key must be a Uint8Array');
      if (key.length < MIN_SECRET_BYTES)
        throw refuse(entry, `key must be at least ${MIN_SECRET_BYTES} bytes`);
      const sameId = positions.get(id);
      if (sameId !== undefined) throw refuse(entry, `key id "${id}" is already used by entry ${sameId}`);
      const copy = Buffer.from(key);
      // The same key under two ids would make "remove the old id" a no-op that looks like a finished roll.
      const sameKey = seen.find((o) => o.key.length === copy.length && timingSafeEqual(o.key, copy));
      if (sameKey !== undefined) throw refuse(entry, `key material duplicates entry ${sameKey.entry}`);
      positions.set(id, entry);
      seen.push({ entry, key: copy });
      map.set(id, copy);
    });
    return new SessionKeyRing(map, keys[0]?.id as string);
  }

  /**
   * A ring of one key under {@link LEGACY_KEY_ID}: what a bare secret means.
   * @throws {TypeError} if `key` is not a Uint8Array; {RangeError} if it is under 32 bytes.
   */
  static single(key: Uint8Array): SessionKeyRing {
    if (!(key instanceof Uint8Array)) throw new TypeError('session secret must be a Uint8Array');
    if (key.length < MIN_SECRET_BYTES) {
      throw new RangeError(`session secret must be at least ${MIN_SECRET_BYTES} bytes`);
    }
    return SessionKeyRing.fromKeys([{ id: LEGACY_KEY_ID, key }]);
  }

  /** The id of the key that signs new sessions (the first). */
  get primaryId(): string {
    return this.#primaryId;
  }

  /** Every key id, primary first. */
  get ids(): readonly string[] {
    return this.#ids;
  }

  has(id: string): boolean {
    return this.#keys.has(id);
  }

  /**
   * @internal The raw key for `id`, for signing, verifying and deriving per-purpose keys (HKDF) only. The
   * returned buffer is the ring's own copy: do not retain, mutate or log it.
   * @returns undefined when the ring has no such key.
   */
  keyFor(id: string): Buffer | undefined {
    return this.#keys.get(id);
  }

  /** Logging a ring shows which keys exist, never their bytes. */
  toJSON(): { primaryId: string; ids: readonly string[] } {
    return { primaryId: this.#primaryId, ids: this.#ids };
  }

  [Symbol.for('nodejs.util.inspect.custom')](): { primaryId: string; ids: readonly string[] } {
    return this.toJSON();
  }
}

/**
 * What signs and verifies sessions: a {@link SessionKeyRing}, or a bare secret (at least 32 bytes). A bare secret
 * signs without a `kid` header (the format from before key ids) and verifies like a ring holding it under
 * {@link LEGACY_KEY_ID}: tokens without `kid` or with `kid: "default"`.
 */
export type SessionKeys = Uint8Array | SessionKeyRing;
