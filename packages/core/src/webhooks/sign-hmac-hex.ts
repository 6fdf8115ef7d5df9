import { hmacSha256, isBody } from './lib/hmac.js';
import { hmacKey } from './lib/hmac-key.js';

/**
 * Lower-case hex HMAC-SHA256 of a raw request body, the scheme of the billing webhook (`x-signature`). A string
 * secret is used as its UTF-8 bytes, as billing providers do with the secret they show; a string body is signed
 * as UTF-8 (sign the bytes actually sent).
 *
 * @throws {TypeError} if the secret or body has another type; {RangeError} if the secret is empty (an HMAC
 *   under an empty key is a signature anyone can make).
 * @example const signature = signHmacHex(process.env.RAMPART_BILLING_WEBHOOK_SECRET, body); // 64 hex chars
 */
export function signHmacHex(secret: string | Uint8Array, rawBody: Uint8Array | string): string {
  const key = hmacKey(secret);
  if (!isBody(rawBody)) throw new TypeError('rawBody must be the raw string or bytes');
  return hmacSha256(key, rawBody).toString('hex');
}
