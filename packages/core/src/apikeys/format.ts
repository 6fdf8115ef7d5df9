import bs58 from 'bs58';

/**
 * Credential kinds that share the `<kind>_<env>_<base58>` format:
 * `rk` API keys (server-to-server), `rt` runtime tokens (skills runtime sync), `cli` tokens (the `rampart` CLI).
 * The fourth kind, `ag_` agent tokens (the on-prem database agent), predates this format; see agent.ts.
 */
export type TokenKind = 'rk' | 'rt' | 'cli';

/** `live` credentials act on production data; `test` ones are for sandboxes. Visible so a leak is triaged fast. */
export type TokenEnv = 'live' | 'test';

export const TOKEN_KINDS: readonly TokenKind[] = ['rk', 'rt', 'cli'];
export const TOKEN_ENVS: readonly TokenEnv[] = ['live', 'test'];

/** Random bytes in every credential: 256 bits, beyond guessing and beyond any useful precomputation. */
export const TOKEN_RANDOM_BYTES = 32;

/** Characters of the random part shown as the prefix (about 47 bits; at least 200 bits stay hidden). */
export const TOKEN_PREFIX_CHARS = 8;

/** The parts of a well-formed credential. `prefix` is public: safe to store, log and display. */
export interface ParsedToken {
  kind: TokenKind;
  env: TokenEnv;
  prefix: string;
}

// Base58 (Bitcoin alphabet: no 0, O, I, l). 32 bytes encode to 32..44 characters (44 for 94% of values; each
// leading zero byte becomes a '1', so shorter strings exist); decoding below pins the exact byte length.
const SHAPE = /^(rk|rt|cli)_(live|test)_([1-9A-HJ-NP-Za-km-z]{32,44})$/;

/**
 * Parses any credential of the family. Strict: known kind and env, base58 alphabet only, and the random part
 * must decode to exactly 32 bytes. Returns `null` for anything else (never throws, never echoes the input), so
 * a route can answer 401 without hashing or looking up garbage.
 *
 * @throws never.
 * @example const parsed = parseToken(bearer); if (parsed?.kind !== 'rt') return reply(401);
 */
export function parseToken(text: unknown): ParsedToken | null {
  if (typeof text !== 'string' || text.length > 64) return null;
  const match = SHAPE.exec(text);
  if (match === null) return null;
  const [, kind, env, random] = match as unknown as [string, TokenKind, TokenEnv, string];
  if (bs58.decodeUnsafe(random)?.length !== TOKEN_RANDOM_BYTES) return null;
  return { kind, env, prefix: random.slice(0, TOKEN_PREFIX_CHARS) };
}

/**
 * Parses an API key (`rk_live_…` / `rk_test_…`); other kinds and malformed strings give `null`.
 *
 * @throws never.
 * @example const parsed = parseApiKey(req.headers['x-api-key']); if (!parsed) return reply(401);
 */
export function parseApiKey(text: unknown): { env: TokenEnv; prefix: string } | null {
  const parsed = parseToken(text);
  return parsed?.kind === 'rk' ? { env: parsed.env, prefix: parsed.prefix } : null;
}
