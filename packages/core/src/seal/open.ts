import { encodeAad, type SealContext } from './aad.js';
import { parseEnvelope } from './envelope.js';
import { SealError } from './errors.js';
import type { KeyRing } from './keyring.js';
import { gcmDecrypt, TAG_BYTES } from './lib/gcm.js';

const OPEN_FAILED =
  'sealed value could not be opened: wrong key, tampered data, or a ciphertext moved from another org, table, column or row';

/**
 * Decrypts an envelope produced by {@link seal} for the same `ctx`, with whichever ring key its header names.
 * All authentication failures look the same on purpose: telling "wrong row" from "bit flip" would help an
 * attacker more than an operator.
 *
 * @throws {SealError} `malformed_envelope` / `unsupported_version` if the string is not a v1 envelope;
 *   `unknown_key` if the ring lacks its key; `open_failed` if authentication fails.
 * @throws {TypeError} if `ctx` is malformed.
 * @example const apiKey = open(ring, row.api_key, { orgId, table: 'integrations', column: 'api_key', rowId });
 */
export function open(ring: KeyRing, envelope: string, ctx: SealContext): Buffer {
  const { version, keyId, iv, body } = parseEnvelope(envelope);
  const aad = encodeAad(version, keyId, ctx);
  const key = ring.keyFor(keyId);
  const split = body.length - TAG_BYTES;
  try {
    return gcmDecrypt(key, iv, aad, body.subarray(0, split), body.subarray(split));
  } catch (cause) {
    if (cause instanceof SealError && cause.code === 'open_failed') {
      throw new SealError('open_failed', OPEN_FAILED, { cause });
    }
    throw cause;
  }
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * {@link open} for text secrets: decodes the plaintext as UTF-8 and wipes the intermediate buffer.
 *
 * @throws {SealError} as {@link open}.
 * @throws {TypeError} if the sealed bytes are not valid UTF-8 (a binary value; use open()).
 * @example const token = openString(ring, row.token, ctx);
 */
export function openString(ring: KeyRing, envelope: string, ctx: SealContext): string {
  const bytes = open(ring, envelope, ctx);
  try {
    return UTF8.decode(bytes);
  } catch {
    throw new TypeError('openString: sealed value is not valid UTF-8; use open() for binary values');
  } finally {
    bytes.fill(0);
  }
}
