import bcrypt from 'bcrypt';
import { PasswordError } from './errors.js';
import { BCRYPT_HASH, BCRYPT_MAX_BYTES, normalizePassword } from './lib/bcrypt-input.js';

/**
 * Checks a password against a stored bcrypt hash (constant-time comparison inside bcrypt). A password over
 * 72 bytes is answered `false` without running bcrypt: comparing only its first 72 bytes would let
 * `<stored password><anything>` log in. That shortcut depends only on the input's length, which the caller
 * already knows, and {@link dummyVerify} takes the same shortcut, so it reveals nothing about the account.
 *
 * @throws {PasswordError} `malformed_hash` if `hash` is not a `$2a$`/`$2b$` bcrypt hash (bcrypt itself would
 *   just answer `false` and hide the corruption).
 * @throws {TypeError} if `password` is not a string.
 * @example const ok = user ? await verifyPassword(pw, user.passwordHash) : await dummyVerify(pw);
 */
export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  if (typeof hash !== 'string' || !BCRYPT_HASH.test(hash)) {
    throw new PasswordError('malformed_hash', 'stored password hash is not a bcrypt $2a$/$2b$ hash');
  }
  const normalized = normalizePassword(password);
  if (Buffer.byteLength(normalized, 'utf8') > BCRYPT_MAX_BYTES) return false;
  return bcrypt.compare(normalized, hash);
}
