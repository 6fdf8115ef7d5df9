import { randomBytes } from 'node:crypto';
import bs58 from 'bs58';
import {
  TOKEN_ENVS,
  TOKEN_KINDS,
  TOKEN_PREFIX_CHARS,
  TOKEN_RANDOM_BYTES,
  type TokenEnv,
  type TokenKind,
} from './format.js';
import { hashToken } from './hash.js';

/** A freshly minted credential. Show `key` to its owner once; store only `prefix` and `hash`. */
export interface GeneratedToken {
  /** The secret, e.g. `rk_live_5Hq3…` (`<kind>_<env>_` + base58 of 32 random bytes). Never store or log it. */
  key: string;
  /**
   * The first 8 characters after `<kind>_<env>_`, for display ("rk_live_5Hq3xY7a…") and for the owner to tell
   * keys apart. Not unique and not a lookup key: find the row by `hash`.
   */
  prefix: string;
  /** Hex SHA-256 of the whole key with a domain-separation label; see {@link hashToken}. Store this. */
  hash: string;
}

/**
 * Mints a credential of the `<kind>_<env>_<base58>` family from 32 bytes of the OS CSPRNG. The kind and env are
 * visible in the string so a leaked credential can be triaged (and secret scanners can match it) without a
 * lookup; base58 keeps it double-click selectable and free of look-alike characters.
 *
 * @throws {TypeError} if `kind` or `env` is not one of the known values (programmer error).
 * @example const { key, prefix, hash } = generateToken('rt', 'live'); await db.insertRuntimeToken({ prefix, hash });
 */
export function generateToken(kind: TokenKind, env: TokenEnv = 'live'): GeneratedToken {
  if (!TOKEN_KINDS.includes(kind)) throw new TypeError(`token kind must be one of ${TOKEN_KINDS.join(', ')}`);
  if (!TOKEN_ENVS.includes(env)) throw new TypeError(`token env must be one of ${TOKEN_ENVS.join(', ')}`);
  const random = bs58.encode(randomBytes(TOKEN_RANDOM_BYTES));
  const key = `${kind}_${env}_${random}`;
  return { key, prefix: random.slice(0, TOKEN_PREFIX_CHARS), hash: hashToken(key) };
}

/**
 * Mints an API key: `rk_<env>_<base58 of 32 random bytes>` (security invariant 3).
 *
 * @throws {TypeError} if `env` is not `live` or `test`.
 * @example const { key, prefix, hash } = generateApiKey('live'); // return key once, store prefix + hash
 */
export function generateApiKey(env: TokenEnv = 'live'): GeneratedToken {
  return generateToken('rk', env);
}
