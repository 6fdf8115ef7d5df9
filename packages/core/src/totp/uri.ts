import { generateURI } from 'otplib';
import { checkSecret, TOTP_ALGORITHM, TOTP_DIGITS, TOTP_PERIOD_SECONDS } from './lib/params.js';

/** Input of {@link totpUri}. */
export interface TotpUriInput {
  /** Base32 secret from {@link generateTotpSecret}. */
  secret: string;
  /** What the authenticator app shows under the issuer, usually the user's email. */
  account: string;
  /** Defaults to `Rampart`; a deployment may brand it. */
  issuer?: string;
}

/**
 * The `otpauth://totp/<issuer>:<account>?secret=…&issuer=…` URI an authenticator app scans as a QR code. The
 * URI contains the secret: render it for the enrolling user only, never log it or put it in a URL.
 *
 * @throws {TotpError} `invalid_secret` if the secret is not one {@link generateTotpSecret} could have made.
 * @throws {TypeError} if `account` or `issuer` is empty or contains `:` (the label separator; otplib does not
 *   escape it, so `a:b` would split the label in the wrong place).
 * @example const uri = totpUri({ secret, account: user.email }); // otpauth://totp/Rampart:alice%40…
 */
export function totpUri({ secret, account, issuer = 'Rampart' }: TotpUriInput): string {
  checkSecret(secret);
  for (const [name, value] of [
    ['account', account],
    ['issuer', issuer],
  ] as const) {
    if (typeof value !== 'string' || value.trim() === '' || value.includes(':')) {
      throw new TypeError(`totpUri: ${name} must be a non-empty string without ':'`);
    }
  }
  return generateURI({
    issuer,
    label: account,
    secret,
    algorithm: TOTP_ALGORITHM,
    digits: TOTP_DIGITS,
    period: TOTP_PERIOD_SECONDS,
  });
}
