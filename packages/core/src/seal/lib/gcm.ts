import { type CipherGCMTypes, createCipheriv, createDecipheriv } from 'node:crypto';
import { SealError } from '../errors.js';

/** GCM tags are fixed at 128 bits: shorter tags weaken forgery resistance (NIST SP 800-38D, appendix C). */
export const TAG_BYTES = 16;

/**
 * Longest IV node:crypto can use. OpenSSL 3's GCM provider caps IVs at 1024 bits (GCM_IV_MAX_SIZE in
 * providers/implementations/include/prov/ciphercommon_gcm.h) although GCM itself allows up to 2^64 - 1 bits.
 * Enforced here so the limit is the same on every node build; the envelope only ever uses 12-byte IVs.
 */
export const GCM_IV_MAX_BYTES = 128;

function algorithmFor(key: Uint8Array): CipherGCMTypes {
  switch (key.length) {
    case 16:
      return 'aes-128-gcm';
    case 24:
      return 'aes-192-gcm';
    case 32:
      return 'aes-256-gcm';
    default:
      throw new SealError('invalid_key_ring', 'AES key must be 16, 24 or 32 bytes');
  }
}

/**
 * AES-GCM encryption with a 128-bit tag; the key size picks AES-128/192/256. Kept separate from the envelope so
 * it can be checked byte-for-byte against published vectors.
 *
 * @throws {SealError} `invalid_key_ring` if the key is not 16, 24 or 32 bytes.
 * @throws {TypeError} if the IV is empty (GCM is undefined for it) or longer than {@link GCM_IV_MAX_BYTES}; both
 *   are programmer errors.
 * @example const { ciphertext, tag } = gcmEncrypt(key, randomBytes(12), aad, plaintext);
 */
export function gcmEncrypt(
  key: Uint8Array,
  iv: Uint8Array,
  aad: Uint8Array,
  plaintext: Uint8Array,
): { ciphertext: Buffer; tag: Buffer } {
  const algorithm = algorithmFor(key);
  if (iv.length === 0 || iv.length > GCM_IV_MAX_BYTES) {
    throw new TypeError(`gcmEncrypt: IV must be 1 to ${GCM_IV_MAX_BYTES} bytes`);
  }
  const cipher = createCipheriv(algorithm, key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return { ciphertext, tag: cipher.getAuthTag() };
}

/**
 * AES-GCM decryption. Every failure after the key check (bad tag, wrong tag length, empty or over-long IV, or
 * anything node:crypto throws) becomes one `open_failed`: callers handle a single code, and nothing about a
 * failed authentication (such as which bytes were wrong) is distinguishable.
 *
 * @throws {SealError} `invalid_key_ring` for a bad key size; `open_failed` for everything else.
 * @example const plaintext = gcmDecrypt(key, iv, aad, ciphertext, tag);
 */
export function gcmDecrypt(
  key: Uint8Array,
  iv: Uint8Array,
  aad: Uint8Array,
  ciphertext: Uint8Array,
  tag: Uint8Array,
): Buffer {
  const algorithm = algorithmFor(key);
  // authTagLength already makes node refuse other lengths; the explicit check keeps that guarantee visible and
  // independent of node's defaults, because accepting a truncated tag is the classic GCM forgery vector.
  if (tag.length !== TAG_BYTES) {
    throw new SealError('open_failed', 'authenticated decryption failed', { reason: 'tag length' });
  }
  if (iv.length > GCM_IV_MAX_BYTES) {
    throw new SealError('open_failed', 'authenticated decryption failed', { reason: 'iv length' });
  }
  let head: Buffer | undefined;
  try {
    const decipher = createDecipheriv(algorithm, key, iv, { authTagLength: TAG_BYTES });
    decipher.setAuthTag(tag);
    decipher.setAAD(aad);
    head = decipher.update(ciphertext);
    const tail = decipher.final();
    if (tail.length === 0) return head;
    const plaintext = Buffer.concat([head, tail]);
    head.fill(0);
    return plaintext;
  } catch (cause) {
    // update() hands out plaintext before the tag is checked; wipe it so unauthenticated bytes do not linger.
    head?.fill(0);
    throw new SealError('open_failed', 'authenticated decryption failed', { cause });
  }
}
