import { createHash, randomBytes } from 'node:crypto';
import { TOKEN_PREFIX_CHARS, TOKEN_RANDOM_BYTES } from './format.js';
import type { GeneratedToken } from './generate.js';

/**
 * Agent tokens: the credential an on-prem database agent presents on the `/agent` WebSocket upgrade. Older than
 * the `<kind>_<env>_<base58>` family and kept as issued, since their hashes are stored: `ag_` + base64url of 32
 * random bytes (43 characters, no env part).
 */
export const AGENT_TOKEN_PREFIX = 'ag_';

/** Domain-separation label in front of an agent token when it is hashed (distinct from {@link TOKEN_HASH_LABEL}). */
export const AGENT_TOKEN_HASH_LABEL = 'rampart-agent-token-v1:';

const AGENT_SHAPE = /^ag_[A-Za-z0-9_-]{43}$/;

/**
 * The value stored for an agent token: hex SHA-256 of `'rampart-agent-token-v1:' + token` (UTF-8).
 *
 * @throws {TypeError} if `token` is not a string.
 * @example const id = await findAgentToken(hashAgentToken(bearer));
 */
export function hashAgentToken(token: string): string {
  if (typeof token !== 'string') throw new TypeError('token must be a string');
  return createHash('sha256').update(AGENT_TOKEN_HASH_LABEL, 'utf8').update(token, 'utf8').digest('hex');
}

/**
 * Whether `text` has the agent-token shape (`ag_` + 43 base64url characters), so a route can refuse garbage
 * before hashing or looking it up. Never throws, never echoes the input.
 *
 * @throws never.
 */
export function isAgentToken(text: unknown): text is string {
  return typeof text === 'string' && AGENT_SHAPE.test(text);
}

/**
 * Mints an agent token from 32 bytes of the OS CSPRNG. Show `key` once; store only `hash`.
 *
 * @throws never.
 * @example const { key, hash } = generateAgentToken(); // key to the operator, hash to db_connections
 */
export function generateAgentToken(): GeneratedToken {
  const random = randomBytes(TOKEN_RANDOM_BYTES).toString('base64url');
  const key = `${AGENT_TOKEN_PREFIX}${random}`;
  return { key, prefix: random.slice(0, TOKEN_PREFIX_CHARS), hash: hashAgentToken(key) };
}
