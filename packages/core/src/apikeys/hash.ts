import { createHash } from 'node:crypto';

/**
 * Domain-separation label, followed by a NUL, in front of every hashed credential. Credentials are also the input
 * of other derivations (the PBKDF2 key for zero-knowledge connection strings is derived from an API key); with a
 * distinct label no two constructions ever hash the same bytes, so a stored hash can never stand in for a derived
 * key or the other way round. Bump the version only with a migration that rehashes nothing (hashes are one-way):
 * old rows keep the old label.
 */
export const TOKEN_HASH_LABEL = 'rampart.apikey.v1\0';

/**
 * The value stored for a credential: hex SHA-256 of `'rampart.apikey.v1\0' + key` (UTF-8). One fast hash is
 * enough because keys carry 256 random bits: there is nothing to brute-force, unlike a password. Works for
 * every kind in the family (`rk`, `rt`, `cli`); the kind is part of the key string and so of the hash input.
 *
 * @throws {TypeError} if `key` is not a string.
 * @example const row = await db.findApiKeyByHash(hashToken(presentedKey));
 */
export function hashToken(key: string): string {
  if (typeof key !== 'string') throw new TypeError('key must be a string');
  return createHash('sha256').update(TOKEN_HASH_LABEL, 'utf8').update(key, 'utf8').digest('hex');
}
