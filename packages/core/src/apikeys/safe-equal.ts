import { timingSafeEqual } from 'node:crypto';

const HEX = /^(?:[0-9a-f]{2})+$/;

/**
 * Compares two lower-case hex strings (e.g. a stored hash and a computed one) in time that does not depend on
 * where they differ. Different lengths, odd or zero lengths and non-hex text (upper case included) answer `false` (checked before the
 * constant-time part; a length is not a secret here, every hash we store is 64 characters).
 *
 * @throws never.
 * @example if (!safeEqualHex(row.hash, hashToken(presented))) return reply(401);
 */
export function safeEqualHex(a: string, b: string): boolean {
  if (typeof a !== 'string' || typeof b !== 'string') return false;
  if (a.length !== b.length || !HEX.test(a) || !HEX.test(b)) return false;
  return timingSafeEqual(Buffer.from(a, 'hex'), Buffer.from(b, 'hex'));
}
