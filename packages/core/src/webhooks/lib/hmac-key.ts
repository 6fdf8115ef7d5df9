/**
 * The HMAC key for the raw-body scheme: a string secret as UTF-8, bytes as given.
 *
 * @throws {TypeError} for another type; {RangeError} for an empty secret (a configuration error, never input).
 */
export function hmacKey(secret: unknown): Uint8Array {
  let key: Uint8Array;
  if (typeof secret === 'string') key = Buffer.from(secret, 'utf8');
  else if (secret instanceof Uint8Array) key = secret;
  else throw new TypeError('HMAC secret must be a string or Uint8Array');
  if (key.length === 0) throw new RangeError('HMAC secret must not be empty');
  return key;
}
