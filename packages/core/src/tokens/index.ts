export { TokenError, type TokenErrorCode, type TokenErrorOptions } from './errors.js';
export {
  LEGACY_KEY_ID,
  SESSION_KEY_ID_PATTERN,
  SessionKeyRing,
  type SessionKeys,
} from './keyring.js';
export { MIN_SECRET_BYTES, SESSION_TTL_SECONDS, type SessionAmr } from './session.js';
export { type SessionInput, signSession } from './sign.js';
export { type SessionClaims, type VerifySessionOptions, verifySession } from './verify.js';
