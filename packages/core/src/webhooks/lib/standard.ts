import { HMAC_SHA256_BYTES, hmacSha256, isBody } from './hmac.js';

/** Rules from the Standard Webhooks spec (https://www.standardwebhooks.com, spec/standard-webhooks.md, v1.0.0). */

export const SECRET_PREFIX = 'whsec_';
/** The spec's bounds for a symmetric signing secret: at least 192 bits, at most 512. */
export const MIN_SECRET_BYTES = 24;
export const MAX_SECRET_BYTES = 64;

export const HEADER_ID = 'webhook-id';
export const HEADER_TIMESTAMP = 'webhook-timestamp';
export const HEADER_SIGNATURE = 'webhook-signature';

/** Symmetric (HMAC-SHA256) signatures are `v1,<base64>`; `v1a` (ed25519) and unknown versions are skipped. */
export const SIGNATURE_VERSION = 'v1';
/** Length of `base64(HMAC-SHA256)` with its padding: every valid v1 signature has exactly this many characters. */
export const SIGNATURE_BASE64_CHARS = Math.ceil(HMAC_SHA256_BYTES / 3) * 4;

/**
 * Printable ASCII without space or `.`, 1-256 characters. The spec warns that an id containing `.` makes the
 * signed content `{id}.{timestamp}.{body}` ambiguous (part of the id could be re-read as the timestamp), so
 * such ids are refused on both sides; control characters and spaces cannot survive an HTTP header intact.
 */
const ID = /^[\x21-\x2d\x2f-\x7e]{1,256}$/;
/** A canonical non-negative decimal integer (no sign, no leading zeros, no exponent), at most 15 digits. */
const TIMESTAMP = /^(?:0|[1-9][0-9]{0,14})$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

export const isWebhookId = (value: unknown): value is string => typeof value === 'string' && ID.test(value);
export const isTimestampText = (value: string): boolean => TIMESTAMP.test(value);

/**
 * The HMAC key inside a `whsec_` secret. Standard base64 only, padded or not, canonical (a character the
 * decoder would skip or non-zero trailing bits mean a mangled secret, not a different one).
 *
 * @throws {TypeError} if `secret` is not a string; {RangeError} if it lacks the prefix, is not canonical
 *   base64, or decodes to fewer than 24 or more than 64 bytes. Messages never include the secret.
 */
export function decodeSecret(secret: unknown): Buffer {
  if (typeof secret !== 'string') throw new TypeError('webhook secret must be a string');
  if (!secret.startsWith(SECRET_PREFIX))
    throw new RangeError(`webhook secret must start with ${SECRET_PREFIX}`);
  const text = secret.slice(SECRET_PREFIX.length);
  const key = BASE64.test(text) ? Buffer.from(text, 'base64') : undefined;
  const canonical = key?.toString('base64');
  if (!key || (text !== canonical && text !== canonical?.replace(/=+$/, ''))) {
    throw new RangeError(`webhook secret must be ${SECRET_PREFIX} followed by standard base64`);
  }
  if (key.length < MIN_SECRET_BYTES || key.length > MAX_SECRET_BYTES) {
    key.fill(0);
    throw new RangeError(`webhook secret must decode to ${MIN_SECRET_BYTES} to ${MAX_SECRET_BYTES} bytes`);
  }
  return key;
}

/**
 * `base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}"))`, the part after `v1,`.
 *
 * @throws {TypeError} if `body` is neither a string nor a Uint8Array.
 */
export function signatureFor(key: Uint8Array, id: string, timestamp: string, body: unknown): string {
  if (!isBody(body)) throw new TypeError('webhook body must be the raw string or bytes that are sent');
  return hmacSha256(key, `${id}.${timestamp}.`, body).toString('base64');
}
