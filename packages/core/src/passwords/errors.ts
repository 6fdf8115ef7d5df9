/**
 * The closed set of reasons a password operation can fail. Callers branch on `code`, never on `message`.
 *
 * - `too_long`: the password is over 72 bytes of UTF-8 (after NFKC). bcrypt would silently ignore the rest, so
 *   the value is refused instead of truncated.
 * - `malformed_hash`: the stored hash is not a `$2a$`/`$2b$` bcrypt hash; a data or migration error, never the
 *   user's fault.
 */
import { CoreError } from '../errors/core-error.js';

export type PasswordErrorCode = 'too_long' | 'malformed_hash';

/**
 * The only error type the passwords module throws for data problems (programmer errors such as a cost out of
 * range are plain `TypeError`/`RangeError`s). Messages are fixed text: they never carry the password or the hash,
 * so they are safe to log. A login route should still answer every failure with `invalid_credentials`.
 *
 * @example
 * try { await hashPassword(pw) } catch (e) { if (e instanceof PasswordError && e.code === 'too_long') reply(400) }
 */
export class PasswordError extends CoreError<PasswordErrorCode> {
  override readonly name = 'PasswordError';
}
