import type { SealContext } from './aad.js';
import { envelopeKeyId } from './envelope.js';
import type { KeyRing } from './keyring.js';
import { open } from './open.js';
import { seal } from './seal.js';

/**
 * Re-encrypts a value under the ring's primary key: opens it with whichever key its header names, then seals it
 * again with a fresh IV. This is how key rotation completes; once no row names the old key id, it can be dropped
 * from the ring. Always produces a new envelope, so call {@link needsRewrap} first to skip rows already current.
 *
 * @throws {SealError} as {@link open} (`unknown_key`, `open_failed`, `malformed_envelope`, ...).
 * @throws {TypeError} if `ctx` is malformed.
 * @example if (needsRewrap(ring, row.api_key)) row.api_key = rewrap(ring, row.api_key, ctx);
 */
export function rewrap(ring: KeyRing, envelope: string, ctx: SealContext): string {
  const plaintext = open(ring, envelope, ctx);
  try {
    return seal(ring, plaintext, ctx);
  } finally {
    plaintext.fill(0);
  }
}

/**
 * Whether an envelope was sealed under a key other than the ring's primary. Reads the header only; it does not
 * check that the value opens.
 *
 * @throws {SealError} `malformed_envelope` / `unsupported_version` if the string is not a v1 envelope.
 * @example const stale = rows.filter((r) => needsRewrap(ring, r.api_key)).length;
 */
export function needsRewrap(ring: KeyRing, envelope: string): boolean {
  return envelopeKeyId(envelope) !== ring.primaryId;
}
