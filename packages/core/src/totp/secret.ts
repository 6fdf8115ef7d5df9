import { generateSecret } from 'otplib';
import { TOTP_SECRET_BYTES } from './lib/params.js';

/**
 * A new TOTP secret: 160 random bits as 32 characters of unpadded base32, the form authenticator apps import.
 * It is a long-term credential equivalent to the second factor itself: seal it before storing (invariant 5).
 *
 * @throws never (beyond the platform failing to gather entropy).
 * @example const secret = generateTotpSecret(); await db.setPendingTotp(userId, seal(ring, secret, ctx));
 */
export function generateTotpSecret(): string {
  return generateSecret({ length: TOTP_SECRET_BYTES });
}
