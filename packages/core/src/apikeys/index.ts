export {
  AGENT_TOKEN_HASH_LABEL,
  AGENT_TOKEN_PREFIX,
  generateAgentToken,
  hashAgentToken,
  isAgentToken,
} from './agent.js';
export {
  type ParsedToken,
  parseApiKey,
  parseToken,
  TOKEN_ENVS,
  TOKEN_KINDS,
  TOKEN_PREFIX_CHARS,
  TOKEN_RANDOM_BYTES,
  type TokenEnv,
  type TokenKind,
} from './format.js';
export { type GeneratedToken, generateApiKey, generateToken } from './generate.js';
export { hashToken as hashApiKey, hashToken, TOKEN_HASH_LABEL } from './hash.js';
export { safeEqualHex } from './safe-equal.js';
