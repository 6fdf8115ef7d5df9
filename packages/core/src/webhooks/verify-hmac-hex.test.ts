import { describe, expect, it } from 'vitest';
import { signHmacHex } from './sign-hmac-hex.js';
import { verifyHmacHex } from './verify-hmac-hex.js';

const SECRET = 'billing-webhook-secret';
const BODY = Buffer.from('{"meta":{"event_name":"order_created","custom_data":{"nonce":"n_1"}}}');
const SIG = signHmacHex(SECRET, BODY);

describe('verifyHmacHex', () => {
  it('accepts the signature of the exact raw body (bytes or string, upper-case hex too)', () => {
    expect(verifyHmacHex(SECRET, BODY, SIG)).toBe(true);
    expect(verifyHmacHex(SECRET, BODY.toString(), SIG)).toBe(true);
    expect(verifyHmacHex(Buffer.from(SECRET), BODY, SIG.toUpperCase())).toBe(true);
  });

  it('tampered body → false (one byte, trailing newline, re-serialised JSON)', () => {
    const flipped = Buffer.from(BODY);
    flipped[10] = (flipped[10] ?? 0) ^ 1;
    for (const body of [
      flipped,
      Buffer.concat([BODY, Buffer.from('\n')]),
      JSON.stringify(JSON.parse(BODY.toString()), null, 1),
    ]) {
      expect(verifyHmacHex(SECRET, body, SIG)).toBe(false);
    }
  });

  it('signature made with the wrong secret → false', () => {
    expect(verifyHmacHex(SECRET, BODY, signHmacHex(`${SECRET}x`, BODY))).toBe(false);
    expect(verifyHmacHex(`${SECRET}x`, BODY, SIG)).toBe(false);
  });

  it('truncated signature → false, even when it is the right prefix', () => {
    for (const length of [63, 62, 48, 40, 32, 16, 8, 2, 1]) {
      expect(verifyHmacHex(SECRET, BODY, SIG.slice(0, length))).toBe(false);
    }
  });

  it('extended signature (right signature plus more) → false', () => {
    expect(verifyHmacHex(SECRET, BODY, `${SIG}0`)).toBe(false);
    expect(verifyHmacHex(SECRET, BODY, `${SIG}00`)).toBe(false);
    expect(verifyHmacHex(SECRET, BODY, SIG + SIG)).toBe(false);
  });

  it('a signature differing only in its last nibble → false', () => {
    const last = SIG.at(-1) === '0' ? '1' : '0';
    expect(verifyHmacHex(SECRET, BODY, `${SIG.slice(0, -1)}${last}`)).toBe(false);
  });

  it.each([
    ['empty', ''],
    ['non-hex character', `${SIG.slice(0, -1)}g`],
    ['hex with a 0x prefix', `0x${SIG.slice(2)}`],
    ['a sha256= prefix', `sha256=${SIG}`],
    ['surrounding whitespace', ` ${SIG}`],
    ['a trailing newline', `${SIG}\n`],
    ['base64 of the right MAC', Buffer.from(SIG, 'hex').toString('base64')],
    ['64 non-ASCII characters', 'é'.repeat(64)],
    ['the right hex with a NUL in it', `${SIG.slice(0, 32)}\u0000${SIG.slice(33)}`],
  ])('%s → false', (_name, signature) => {
    expect(verifyHmacHex(SECRET, BODY, signature)).toBe(false);
  });

  it('a missing or repeated header (undefined, null, array, other types) → false, never an exception', () => {
    for (const signature of [undefined, null, [SIG], [SIG, SIG], 0, {}, Buffer.from(SIG)]) {
      expect(verifyHmacHex(SECRET, BODY, signature as string)).toBe(false);
    }
  });

  it('throws only for configuration and wiring errors', () => {
    expect(() => verifyHmacHex('', BODY, SIG)).toThrow(RangeError);
    expect(() => verifyHmacHex(undefined as unknown as string, BODY, SIG)).toThrow(TypeError);
    expect(() => verifyHmacHex(SECRET, JSON.parse(BODY.toString()) as string, SIG)).toThrow(TypeError);
  });
});
