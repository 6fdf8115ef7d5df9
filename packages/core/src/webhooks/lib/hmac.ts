import { createHmac } from 'node:crypto';

/** Bytes in an HMAC-SHA256 tag. Verifiers refuse anything shorter: a truncated tag is easier to forge. */
export const HMAC_SHA256_BYTES = 32;

/**
 * HMAC-SHA256 over the concatenation of `parts` (strings as UTF-8), fed to the hash one by one so a large
 * body is never copied. Kept separate from the encodings so it can be checked against published vectors.
 *
 * @throws never for Uint8Array/string inputs (callers check types first).
 * @example const tag = hmacSha256(key, `${id}.${timestamp}.`, body);
 */
export function hmacSha256(key: Uint8Array, ...parts: ReadonlyArray<string | Uint8Array>): Buffer {
  const mac = createHmac('sha256', key);
  for (const part of parts) mac.update(typeof part === 'string' ? Buffer.from(part, 'utf8') : part);
  return mac.digest();
}

/** `true` for the two body types the module signs; anything else (a parsed JSON object) is a wiring mistake. */
export function isBody(value: unknown): value is string | Uint8Array {
  return typeof value === 'string' || value instanceof Uint8Array;
}
