import { randomBytes } from 'node:crypto';
import bcrypt from 'bcrypt';
import { DEFAULT_BCRYPT_COST } from './hash.js';
import { checkCost } from './lib/bcrypt-input.js';
import { verifyPassword } from './verify.js';

/**
 * A bcrypt hash at {@link DEFAULT_BCRYPT_COST} of 32 random bytes that were thrown away after hashing: no
 * password matches it. Precomputed so the first unknown-user login is not slower than the rest.
 */
export const DUMMY_HASH = '$2b$12$gFQf21Wx.bI6JlpfvX7j6O0zv5Yxz0jZ3oxSCJ9eF4/ZoCHepNFuO';

/** Options for {@link dummyVerify}. */
export interface DummyVerifyOptions {
  /** Must equal the cost the stored hashes use. Defaults to {@link DEFAULT_BCRYPT_COST}. */
  cost?: number;
}

// Dummy hashes for non-default costs (tests), made once per cost from a random, discarded secret.
const dummyHashes = new Map<number, Promise<string>>();

function dummyHashFor(cost: number): Promise<string> {
  if (cost === DEFAULT_BCRYPT_COST) return Promise.resolve(DUMMY_HASH);
  let hash = dummyHashes.get(cost);
  if (hash === undefined) {
    hash = bcrypt.hash(randomBytes(32).toString('base64'), cost);
    dummyHashes.set(cost, hash);
  }
  return hash;
}

/**
 * Spends what {@link verifyPassword} spends, then answers `false`. Call it when the login names no user (or a
 * user without a password): if unknown emails answered in 1 ms and known ones in 250 ms, response time alone
 * would tell an attacker which emails have accounts. Pass the submitted password so the over-72-byte shortcut
 * is taken exactly as it would be for a real user.
 *
 * @throws {TypeError} if `password` is given and is not a string; {RangeError} if `cost` is out of range.
 * @example const ok = user ? await verifyPassword(pw, user.passwordHash) : await dummyVerify(pw);
 */
export async function dummyVerify(password = '', options: DummyVerifyOptions = {}): Promise<false> {
  const hash = await dummyHashFor(checkCost(options.cost ?? DEFAULT_BCRYPT_COST));
  await verifyPassword(password, hash);
  return false;
}
