import { randomBytes } from 'node:crypto';

/**
 * Crockford's base32 alphabet: digits and upper-case letters without I, L, O and U. 32 symbols, so each is
 * exactly 5 bits from one random byte (256 is a multiple of 32: no modulo bias), and none can be misread as
 * another once {@link normalizeRecoveryCode} maps O to 0 and I, L to 1.
 */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const GROUPS = 3;
const GROUP_CHARS = 4;
/** 12 symbols × 5 bits = 60 bits per code: far beyond online guessing, with rate limits, for single-use codes. */
export const RECOVERY_CODE_BITS = GROUPS * GROUP_CHARS * 5;

const CANONICAL = new RegExp(`^[${ALPHABET}]{${GROUPS * GROUP_CHARS}}$`);

/**
 * Makes `n` distinct single-use recovery codes shaped `xxxx-xxxx-xxxx` (lower case, Crockford base32, 60 bits
 * each). Show them once; store `bcrypt(normalizeRecoveryCode(code))` for each and consume one atomically when it
 * is used (invariant 5).
 *
 * @throws {RangeError} if `n` is not an integer from 1 to 100.
 * @example const codes = generateRecoveryCodes(); // ['7k2m-9xq4-hv0c', ...]
 */
export function generateRecoveryCodes(n = 10): string[] {
  if (!Number.isInteger(n) || n < 1 || n > 100) {
    throw new RangeError('generateRecoveryCodes: n must be an integer from 1 to 100');
  }
  const codes = new Set<string>();
  while (codes.size < n) {
    const symbols = Array.from(randomBytes(GROUPS * GROUP_CHARS), (byte) => ALPHABET[byte & 31] ?? '');
    const groups = [];
    for (let g = 0; g < GROUPS; g++)
      groups.push(symbols.slice(g * GROUP_CHARS, (g + 1) * GROUP_CHARS).join(''));
    codes.add(groups.join('-').toLowerCase());
  }
  return [...codes];
}

/**
 * The canonical form of a typed recovery code, the value to hash and to compare: upper case, no spaces or
 * dashes, O read as 0 and I/L read as 1. Returns `null` when the input cannot be a recovery code (wrong length
 * or a symbol outside the alphabet), so a route can refuse it before spending a bcrypt compare.
 *
 * @throws never.
 * @example normalizeRecoveryCode(' 7K2M 9XQ4-HVOC ') // '7K2M9XQ4HV0C'
 */
export function normalizeRecoveryCode(input: unknown): string | null {
  if (typeof input !== 'string' || input.length > 64) return null;
  const canonical = input.toUpperCase().replace(/[\s-]/g, '').replaceAll('O', '0').replace(/[IL]/g, '1');
  return CANONICAL.test(canonical) ? canonical : null;
}
