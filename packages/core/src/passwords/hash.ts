import bcrypt from 'bcrypt';
import { bcryptInput, checkCost } from './lib/bcrypt-input.js';

/**
 * bcrypt cost for stored passwords (2^12 rounds, about 250 ms on a current server core). Lower it only in tests;
 * raising it later is safe because every hash records its own cost.
 */
export const DEFAULT_BCRYPT_COST = 12;

/** Options for {@link hashPassword}. */
export interface HashPasswordOptions {
  /** log2 of the bcrypt rounds, 4 to 31. Defaults to {@link DEFAULT_BCRYPT_COST}; tests pass 4. */
  cost?: number;
}

/**
 * Hashes a password with bcrypt (`$2b$`, random salt) on libuv's thread pool, so the event loop is not blocked.
 * The password is NFKC-normalised first and refused, never truncated, if it is over 72 bytes. This function does
 * not apply the password policy: call {@link checkPasswordPolicy} when the user chooses a password.
 *
 * @throws {PasswordError} `too_long` if the normalised password is over 72 bytes of UTF-8.
 * @throws {TypeError} if `password` is not a string; {RangeError} if `cost` is out of range.
 * @example const hash = await hashPassword(body.password); // '$2b$12$...'
 */
export async function hashPassword(password: string, options: HashPasswordOptions = {}): Promise<string> {
  const cost = checkCost(options.cost ?? DEFAULT_BCRYPT_COST);
  return bcrypt.hash(bcryptInput(password), cost);
}
