export { type DummyVerifyOptions, dummyVerify } from './dummy.js';
export { PasswordError, type PasswordErrorCode } from './errors.js';
export { DEFAULT_BCRYPT_COST, type HashPasswordOptions, hashPassword } from './hash.js';
export {
  checkPasswordPolicy,
  PASSWORD_MIN_CHARS,
  type PolicyContext,
  type PolicyFailure,
  type PolicyResult,
} from './policy.js';
export { verifyPassword } from './verify.js';
