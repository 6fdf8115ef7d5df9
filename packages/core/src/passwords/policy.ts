import { BCRYPT_MAX_BYTES, normalizePassword } from './lib/bcrypt-input.js';
import { commonPasswords } from './lib/common-passwords.js';

/** Fewest characters (Unicode code points, after NFKC) a new password may have. */
export const PASSWORD_MIN_CHARS = 10;

/** Why a password was refused. Stable strings: the API returns them and the dashboard translates them. */
export type PolicyFailure = 'too_short' | 'too_long' | 'common' | 'contains_email';

/** The outcome of {@link checkPasswordPolicy}. */
export type PolicyResult = { ok: true } | { ok: false; reason: PolicyFailure };

/** Context for {@link checkPasswordPolicy}. */
export interface PolicyContext {
  /** The account's email; a password containing its local part (4+ characters) is refused. */
  email?: string;
}

// Shorter local parts ("bob", "al") would refuse too many unrelated passwords for little gain.
const MIN_EMAIL_PART = 4;

/**
 * Decides whether a new password may be set, following NIST SP 800-63B: a length floor, no composition rules, a
 * blocklist of common passwords, and no context-specific words (the user's email). Checks run in this order
 * and the first failure is reported: `too_short` (under 10 characters), `too_long` (over 72 bytes of UTF-8,
 * the most bcrypt reads; we refuse rather than truncate), `common` (on the bundled list, case-insensitively),
 * `contains_email` (contains the email's local part, or its part before `+`, if 4+ characters).
 *
 * Limits: the list is about 1,700 entries, not a breach corpus; a dictionary word with a twist ("Tr0ub4dor&3")
 * passes. Pair it with the login rate limit, and with a breached-password check if the deployment allows
 * outbound calls.
 *
 * @throws {TypeError} if `password` is not a string.
 * @example const r = checkPasswordPolicy(body.password, { email }); if (!r.ok) return reply(400, r.reason);
 */
export function checkPasswordPolicy(password: string, context: PolicyContext = {}): PolicyResult {
  const normalized = normalizePassword(password);
  if (Array.from(normalized).length < PASSWORD_MIN_CHARS) return { ok: false, reason: 'too_short' };
  if (Buffer.byteLength(normalized, 'utf8') > BCRYPT_MAX_BYTES) return { ok: false, reason: 'too_long' };
  const folded = normalized.toLowerCase();
  if (commonPasswords().has(folded)) return { ok: false, reason: 'common' };
  for (const part of emailParts(context.email)) {
    if (folded.includes(part)) return { ok: false, reason: 'contains_email' };
  }
  return { ok: true };
}

/** The local part of an email and its base before a `+tag`, lower-cased, if long enough to be meaningful. */
function emailParts(email: string | undefined): string[] {
  if (typeof email !== 'string') return [];
  const at = email.lastIndexOf('@');
  const local = (at === -1 ? email : email.slice(0, at)).normalize('NFKC').toLowerCase();
  const base = local.split('+')[0] ?? '';
  return [...new Set([local, base])].filter((part) => Array.from(part).length >= MIN_EMAIL_PART);
}
