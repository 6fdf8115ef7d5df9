/**
 * An RFC 6238 oracle: TOTP codes computed independently of the server's implementation (node:crypto only), so the
 * server's TOTP check is not tested against itself.
 */
import { createHmac } from 'node:crypto';

function base32Decode(s: string): Buffer {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const out: number[] = [];
  for (const c of s.replace(/=+$/, '').toUpperCase()) {
    const i = alphabet.indexOf(c);
    if (i < 0) throw new Error('not base32');
    value = (value << 5) | i;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/**
 * An RFC 6238 / RFC 4226 code (SHA-1, 6 digits, 30 s) for a base32 secret at time `ms`, written independently of
 * the code under test (so the server's TOTP check is not tested against itself); identity-totp.test.ts checks it
 * against the RFC's vectors.
 */
export function totpAt(secret: string, ms: number): string {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(ms / 1000 / 30)));
  const mac = createHmac('sha1', base32Decode(secret)).update(counter).digest();
  const offset = (mac[mac.length - 1] ?? 0) & 0x0f;
  const bin = mac.readUInt32BE(offset) & 0x7fffffff;
  return String(bin % 1_000_000).padStart(6, '0');
}

/**
 * {@link totpAt} now, or `stepOffset` steps away (the server accepts ±1): a second login right after enrolment
 * needs the next step because each step is accepted once.
 */
export const totpCode = (secret: string, stepOffset = 0, now = Date.now()): string =>
  totpAt(secret, now + stepOffset * 30_000);

/** Matching the vectors of RFC 6238 Appendix B (SHA-1 seed "12345678901234567890", 8 digits truncated to 6). */
export const RFC6238_SECRET = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';
