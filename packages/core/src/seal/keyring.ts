import { randomBytes, timingSafeEqual } from 'node:crypto';
import { SealError } from './errors.js';
import { decodeBase64Lenient } from './lib/base64.js';

/** Key ids travel in every envelope header, so they are short, printable and free of the `.` separator. */
export const KEY_ID_PATTERN = /^[A-Za-z0-9_-]{1,32}$/;

/** Ring keys are AES-256 only; shorter AES keys are supported by the primitive for test vectors, not for data. */
const KEY_BYTES = 32;

function refuse(entry: number, problem: string): SealError {
  return new SealError('invalid_key_ring', `entry ${entry}: ${problem}`, { reason: `entry ${entry}` });
}

/**
 * The set of master keys that seal and open values. The first key is the primary: it seals every new value.
 * Every key opens values sealed under its id, which is what makes rotation possible: add a new key in front,
 * {@link rewrap} old rows, then drop the old key.
 *
 * Key bytes live only in a real private field and never appear in `JSON.stringify`, `util.inspect` or errors.
 *
 * @example const ring = KeyRing.parse(process.env.RAMPART_MASTER_KEYS ?? '');
 */
export class KeyRing {
  readonly #keys: Map<string, Buffer>;
  readonly #primaryId: string;
  readonly #ids: readonly string[];

  /** Private so that every ring in memory went through the validation in {@link KeyRing.parse} / fromKeys. */
  private constructor(keys: Map<string, Buffer>) {
    const ids = Object.freeze([...keys.keys()]);
    const primaryId = ids[0];
    if (primaryId === undefined)
      throw new SealError('invalid_key_ring', 'key ring must hold at least one key');
    this.#keys = keys;
    this.#ids = ids;
    this.#primaryId = primaryId;
  }

  /**
   * Parses the environment format `id:base64key,id2:base64key`. Whitespace around entries is ignored; each key
   * is standard base64 or base64url of exactly 32 bytes. The first entry is the primary.
   *
   * @throws {SealError} `invalid_key_ring` naming the bad entry by position (never echoing its value).
   * @example KeyRing.parse('k2:<base64 of 32 bytes>,k1:<base64 of 32 bytes>')
   */
  static parse(spec: string): KeyRing {
    if (typeof spec !== 'string' || spec.trim() === '') {
      throw new SealError('invalid_key_ring', 'key ring is empty: at least one key is required', {
        reason: 'empty',
      });
    }
    const entries = spec.split(',').map((raw, index) => {
      const entry = index + 1;
      const text = raw.trim();
      if (text === '') throw refuse(entry, 'empty entry (stray comma?)');
      const colon = text.indexOf(':');
      if (colon < 0) throw refuse(entry, 'expected id:base64key');
      const key = decodeBase64Lenient(text.slice(colon + 1));
      if (key === undefined) throw refuse(entry, 'key is not valid base64');
      return { id: text.slice(0, colon), key };
    });
    return KeyRing.#build(entries);
  }

  /**
   * Builds a ring from raw key bytes (tests, KMS-unwrapped keys). The bytes are copied, so later changes to the
   * caller's arrays do not affect the ring. The first key is the primary.
   *
   * @throws {SealError} `invalid_key_ring` naming the bad entry by position.
   * @example KeyRing.fromKeys([{ id: 'k1', key: KeyRing.generateKey() }])
   */
  static fromKeys(keys: ReadonlyArray<{ id: string; key: Uint8Array }>): KeyRing {
    if (!Array.isArray(keys)) throw new SealError('invalid_key_ring', 'keys must be an array');
    return KeyRing.#build(
      keys.map(({ id, key }, index) => {
        if (!(key instanceof Uint8Array)) throw refuse(index + 1, 'key must be a Uint8Array');
        return { id, key: Buffer.from(key) };
      }),
    );
  }

  /**
   * A fresh 32-byte key from the OS CSPRNG. Encode with `.toString('base64')` for the environment format.
   *
   * @throws never (beyond node:crypto failing to gather entropy).
   * @example `k1:${KeyRing.generateKey().toString('base64')}`
   */
  static generateKey(): Buffer {
    return randomBytes(KEY_BYTES);
  }

  static #build(entries: ReadonlyArray<{ id: string; key: Buffer }>): KeyRing {
    if (entries.length === 0) {
      throw new SealError('invalid_key_ring', 'key ring is empty: at least one key is required', {
        reason: 'empty',
      });
    }
    const keys = new Map<string, Buffer>();
    const positions = new Map<string, number>();
    const seen: Array<{ entry: number; key: Buffer }> = [];
    entries.forEach(({ id, key }, index) => {
      const entry = index + 1;
      // The id is not echoed even when wrong: a malformed id is often a key pasted into the wrong place.
      if (typeof id !== 'string' || !KEY_ID_PATTERN.test(id)) {
        throw refuse(entry, 'key id must be 1-32 characters of A-Z, a-z, 0-9, _ or -');
      }
      if (key.length !== KEY_BYTES) throw refuse(entry, `key must be ${KEY_BYTES} bytes`);
      const sameId = positions.get(id);
      if (sameId !== undefined) throw refuse(entry, `key id duplicates entry ${sameId}`);
      // The same key under two ids would make "retire the old id" a no-op and confuse rotation accounting.
      const sameKey = seen.find((other) => timingSafeEqual(other.key, key));
      if (sameKey !== undefined) throw refuse(entry, `key material duplicates entry ${sameKey.entry}`);
      positions.set(id, entry);
      seen.push({ entry, key });
      keys.set(id, key);
    });
    return new KeyRing(keys);
  }

  /** The id of the key that seals new values. */
  get primaryId(): string {
    return this.#primaryId;
  }

  /** Every key id in the ring, primary first. */
  get ids(): readonly string[] {
    return this.#ids;
  }

  /**
   * Whether the ring can open values sealed under `id`.
   *
   * @throws never.
   * @example if (!ring.has(envelopeKeyId(stored))) alertMissingKey()
   */
  has(id: string): boolean {
    return this.#keys.has(id);
  }

  /**
   * @internal The raw key for `id`, for seal/open only. The returned buffer is the ring's own copy: do not
   * retain, mutate or log it.
   * @throws {SealError} `unknown_key` if the ring has no key with that id.
   */
  keyFor(id: string): Buffer {
    const key = this.#keys.get(id);
    if (key === undefined) {
      // Naming the id helps an operator find the retired key; only well-formed ids are echoed, never arbitrary text.
      const shown = KEY_ID_PATTERN.test(id) ? ` "${id}"` : '';
      throw new SealError('unknown_key', `key id${shown} is not in the key ring`);
    }
    return key;
  }

  /** Logging a ring shows which keys exist, never their bytes. */
  toJSON(): { primaryId: string; ids: readonly string[] } {
    return { primaryId: this.#primaryId, ids: this.#ids };
  }

  [Symbol.for('nodejs.util.inspect.custom')](): { primaryId: string; ids: readonly string[] } {
    return this.toJSON();
  }
}
