import { PasswordError } from '../errors.js';

/** bcrypt reads at most 72 bytes of its input and ignores the rest without saying so. */
export const BCRYPT_MAX_BYTES = 72;

/** bcrypt's own limits on the cost (log2 of the rounds). */
export const BCRYPT_MIN_COST = 4;
export const BCRYPT_MAX_COST = 31;

/**
 * The hashes we accept from storage. `$2y$` is deliberately absent: the bcrypt package answers `false` for a
 * correct password against a `$2y$` hash, so accepting it would turn a migration mistake into locked-out users.
 */
export const BCRYPT_HASH = /^\$2[ab]\$(0[4-9]|[12][0-9]|3[01])\$[./A-Za-z0-9]{53}$/;

/**
 * The exact bytes bcrypt will see. NFKC makes the same typed password hash the same on every keyboard and OS
 * (macOS input methods produce NFD, others NFC), as NIST SP 800-63B recommends; the 72-byte limit is measured on
 * the normalised UTF-8 so that nothing is ever truncated.
 *
 * @throws {TypeError} if `password` is not a string.
 * @throws {PasswordError} `too_long` if the normalised password is over 72 bytes.
 */
export function bcryptInput(password: unknown): string {
  const normalized = normalizePassword(password);
  if (Buffer.byteLength(normalized, 'utf8') > BCRYPT_MAX_BYTES) {
    throw new PasswordError('too_long', `password is longer than ${BCRYPT_MAX_BYTES} bytes`);
  }
  return normalized;
}

/** NFKC form of a password. @throws {TypeError} if `password` is not a string. */
export function normalizePassword(password: unknown): string {
  if (typeof password !== 'string') throw new TypeError('password must be a string');
  return password.normalize('NFKC');
}

/** @throws {RangeError} if `cost` is not an integer bcrypt accepts. */
export function checkCost(cost: number): number {
  if (!Number.isInteger(cost) || cost < BCRYPT_MIN_COST || cost > BCRYPT_MAX_COST) {
    throw new RangeError(`bcrypt cost must be an integer from ${BCRYPT_MIN_COST} to ${BCRYPT_MAX_COST}`);
  }
  return cost;
}
