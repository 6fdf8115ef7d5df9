import { randomBytes } from 'node:crypto';
import { encodeAad, type SealContext } from './aad.js';
import { ENVELOPE_VERSION, formatEnvelope, IV_BYTES } from './envelope.js';
import type { KeyRing } from './keyring.js';
import { gcmEncrypt } from './lib/gcm.js';

// Matches a UTF-16 surrogate that is not part of a pair.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Encrypts a secret for storage in one specific place (`ctx`) under the ring's primary key.
 *
 * Each call draws a fresh 96-bit IV from the OS CSPRNG: GCM with a repeated (key, IV) pair leaks the XOR of the
 * plaintexts and the authentication key, so IVs are never derived, counted or reused. The key id and version are
 * part of the AAD, so the envelope header cannot be edited without failing to open.
 *
 * @throws {TypeError} if `ctx` is malformed or a string plaintext holds a lone surrogate (it would not survive
 *   UTF-8 and open() would return different text).
 * @example const stored = seal(ring, apiKey, { orgId, table: 'integrations', column: 'api_key', rowId: id });
 */
export function seal(ring: KeyRing, plaintext: string | Uint8Array, ctx: SealContext): string {
  const keyId = ring.primaryId;
  const aad = encodeAad(ENVELOPE_VERSION, keyId, ctx);
  let bytes: Uint8Array;
  if (typeof plaintext === 'string') {
    if (LONE_SURROGATE.test(plaintext))
      throw new TypeError('seal: plaintext string is not well-formed UTF-16');
    bytes = Buffer.from(plaintext, 'utf8');
  } else if (plaintext instanceof Uint8Array) {
    bytes = plaintext;
  } else {
    throw new TypeError('seal: plaintext must be a string or Uint8Array');
  }
  const iv = randomBytes(IV_BYTES);
  try {
    const { ciphertext, tag } = gcmEncrypt(ring.keyFor(keyId), iv, aad, bytes);
    return formatEnvelope(keyId, iv, Buffer.concat([ciphertext, tag]));
  } finally {
    // Our own UTF-8 copy of a string secret is wiped; a caller's Uint8Array is theirs to manage.
    if (bytes !== plaintext) bytes.fill(0);
  }
}
