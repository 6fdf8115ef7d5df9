/**
 * The closed set of reasons a TOTP operation can fail. A wrong or replayed code is not an error (see
 * {@link verifyTotp}'s result); only a stored secret that cannot be used is.
 *
 * - `invalid_secret`: the secret is not base32 of 20 to 40 bytes, as {@link generateTotpSecret} makes; a data
 *   error (a secret opened with the wrong context, or edited by hand).
 */
import { CoreError } from '../errors/core-error.js';

export type TotpErrorCode = 'invalid_secret';

/**
 * The only error type the totp module throws for data problems (programmer errors such as a negative
 * `lastUsedStep` are plain `TypeError`/`RangeError`s). Messages are fixed text: never the secret or the code.
 *
 * @example
 * try { await verifyTotp(secret, code) } catch (e) { if (e instanceof TotpError) log.error({ err: e }) }
 */
export class TotpError extends CoreError<TotpErrorCode> {
  override readonly name = 'TotpError';
}
