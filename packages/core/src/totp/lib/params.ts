import { TotpError } from '../errors.js';

// RFC 6238 parameters every authenticator app supports (Google Authenticator ignores anything else).
export const TOTP_PERIOD_SECONDS = 30;
export const TOTP_DIGITS = 6;
export const TOTP_ALGORITHM = 'sha1';
/** Steps accepted either side of the current one: ±30 s of clock drift plus typing time. */
export const TOTP_WINDOW_STEPS = 1;
/** 160-bit secrets, the size RFC 4226 recommends for HMAC-SHA-1. */
export const TOTP_SECRET_BYTES = 20;

// Unpadded RFC 4648 base32 of 20..40 bytes: whole 5-byte groups only, so there is never padding to get wrong.
const SECRET_FORMAT = /^(?:[A-Z2-7]{8}){4,8}$/;

/** @throws {TotpError} `invalid_secret` unless `secret` is unpadded upper-case base32 of 20..40 bytes. */
export function checkSecret(secret: unknown): string {
  if (typeof secret !== 'string' || !SECRET_FORMAT.test(secret)) {
    throw new TotpError('invalid_secret', 'TOTP secret must be unpadded base32 of 20 to 40 bytes');
  }
  return secret;
}
