import { timingSafeEqual } from 'node:crypto';
import { HMAC_SHA256_BYTES, hmacSha256, isBody } from './lib/hmac.js';
import { hmacKey } from './lib/hmac-key.js';

/** Exactly one full HMAC-SHA256 in hex, either case. A truncated tag is a weaker tag, so it is refused. */
const SIGNATURE_HEX = new RegExp(`^[0-9a-fA-F]{${HMAC_SHA256_BYTES * 2}}$`);

/**
 * Checks a hex HMAC-SHA256 of a raw body (the billing webhook's `x-signature`) in constant time. Whatever an
 * attacker controls (the body, the header, even its type: a repeated header arrives as an array) gives `false`,
 * never an exception: missing, empty, non-hex, short or long signatures all answer `false` before any
 * comparison, and equal-length ones are compared with `timingSafeEqual`. Upper-case hex is accepted: it
 * names the same bytes.
 *
 * Verify before parsing the body, on the exact bytes received. A valid signature says nothing about freshness:
 * the caller still rejects replays (the billing nonce is consumed once).
 *
 * @throws {TypeError} | {RangeError} only for a bad secret or a non-string, non-byte `rawBody` (configuration
 *   or wiring errors, as {@link signHmacHex}).
 * @example
 * if (!verifyHmacHex(config.billingWebhookSecret, request.rawBody, request.headers['x-signature']))
 *   throw httpError('invalid_signature');
 */
export function verifyHmacHex(
  secret: string | Uint8Array,
  rawBody: Uint8Array | string,
  signatureHex: string | readonly string[] | null | undefined,
): boolean {
  const key = hmacKey(secret);
  if (!isBody(rawBody)) throw new TypeError('rawBody must be the raw string or bytes received');
  if (typeof signatureHex !== 'string' || !SIGNATURE_HEX.test(signatureHex)) return false;
  return timingSafeEqual(Buffer.from(signatureHex, 'hex'), hmacSha256(key, rawBody));
}
