import { SealError } from './errors.js';
import { KEY_ID_PATTERN } from './keyring.js';
import { decodeBase64Url } from './lib/base64.js';
import { TAG_BYTES } from './lib/gcm.js';

/** The only format version this build writes and reads. */
export const ENVELOPE_VERSION = 'v1';

/** 96-bit IVs: the size GCM is designed for (no GHASH of the IV, no counter-wrap corner cases). */
export const IV_BYTES = 12;

/** A parsed envelope. `body` is ciphertext followed by the 16-byte tag. */
export interface ParsedEnvelope {
  version: 'v1';
  keyId: string;
  iv: Buffer;
  body: Buffer;
}

// 12 bytes are exactly 16 base64url chars; a body of at least 16 bytes is at least 22 chars.
const SHAPE = /^v1\.[A-Za-z0-9_-]{1,32}\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{22,}$/;

/**
 * The syntactic shape every v1 envelope has, as regular-expression source that means the same in JavaScript
 * and in PostgreSQL (`value ~ pattern`): a SQL prefilter for rows that cannot be envelopes. Shape only;
 * {@link isEnvelope} also checks that the fields decode.
 *
 * @example q.query('SELECT id FROM t WHERE col !~ $1', [ENVELOPE_SHAPE])
 */
export const ENVELOPE_SHAPE: string = SHAPE.source;
const VERSION_PREFIX = /^v[0-9]+$/;

function malformed(reason: string, detail: string): SealError {
  return new SealError('malformed_envelope', `sealed value is malformed: ${detail}`, { reason });
}

/** Parses without throwing, so isEnvelope() stays cheap on the backfill path. */
function decode(envelope: unknown): ParsedEnvelope | SealError {
  if (typeof envelope !== 'string') return malformed('type', 'expected a string');
  const parts = envelope.split('.');
  const [version, keyId, ivText, bodyText] = parts;
  if (version !== ENVELOPE_VERSION) {
    return version !== undefined && VERSION_PREFIX.test(version) && parts.length > 1
      ? new SealError('unsupported_version', 'sealed value uses an envelope version this build cannot read', {
          reason: 'version',
        })
      : malformed('version', 'missing version prefix');
  }
  if (parts.length !== 4 || keyId === undefined || ivText === undefined || bodyText === undefined) {
    return malformed('parts', 'expected 4 dot-separated parts');
  }
  if (!KEY_ID_PATTERN.test(keyId)) return malformed('key_id', 'invalid key id');
  const iv = decodeBase64Url(ivText);
  if (iv === undefined || iv.length !== IV_BYTES) return malformed('iv', `IV must be ${IV_BYTES} bytes`);
  const body = decodeBase64Url(bodyText);
  if (body === undefined || body.length < TAG_BYTES) {
    return malformed('body', `body must be base64url of at least ${TAG_BYTES} bytes`);
  }
  return { version: ENVELOPE_VERSION, keyId, iv, body };
}

/**
 * Builds the stored string `v1.<keyId>.<iv>.<ciphertext||tag>` (base64url, unpadded, so the value is safe in
 * URLs, logs and CSV and `.` never appears inside a field).
 *
 * @throws {TypeError} if the key id, IV or body sizes are wrong (programmer error).
 * @example formatEnvelope('k1', iv, Buffer.concat([ciphertext, tag]))
 */
export function formatEnvelope(keyId: string, iv: Uint8Array, body: Uint8Array): string {
  if (!KEY_ID_PATTERN.test(keyId)) throw new TypeError('formatEnvelope: invalid key id');
  if (iv.length !== IV_BYTES) throw new TypeError(`formatEnvelope: IV must be ${IV_BYTES} bytes`);
  if (body.length < TAG_BYTES)
    throw new TypeError(`formatEnvelope: body must be at least ${TAG_BYTES} bytes`);
  const b64 = (bytes: Uint8Array) =>
    Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
  return `${ENVELOPE_VERSION}.${keyId}.${b64(iv)}.${b64(body)}`;
}

/**
 * Splits an envelope into its parts. Decoding is strict (canonical base64url only), so a modified field is
 * refused here rather than decoded into different bytes.
 *
 * @throws {SealError} `unsupported_version` for a `vN.` prefix other than v1; `malformed_envelope` otherwise.
 * @example const { keyId, iv, body } = parseEnvelope(row.api_key);
 */
export function parseEnvelope(envelope: string): ParsedEnvelope {
  const result = decode(envelope);
  if (result instanceof SealError) throw result;
  return result;
}

/**
 * Whether a stored value is a v1 envelope, as opposed to legacy plaintext. Used by backfill jobs to find rows to
 * seal. Syntactic only: it says nothing about whether the value opens.
 *
 * @throws never.
 * @example if (!isEnvelope(row.api_key)) row.api_key = seal(ring, row.api_key, ctx);
 */
export function isEnvelope(value: string): boolean {
  return typeof value === 'string' && SHAPE.test(value) && !(decode(value) instanceof SealError);
}

/**
 * The key id an envelope was sealed under, e.g. to count rows still on a retired key.
 *
 * @throws {SealError} `malformed_envelope` / `unsupported_version` as {@link parseEnvelope}.
 * @example envelopeKeyId('v1.k1.AAAA...') // 'k1'
 */
export function envelopeKeyId(envelope: string): string {
  return parseEnvelope(envelope).keyId;
}
