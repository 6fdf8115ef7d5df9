import { generate, generateSync, ScureBase32Plugin, stringToBytes } from 'otplib';
import { describe, expect, it } from 'vitest';
import { TotpError } from './errors.js';
import { generateTotpSecret } from './secret.js';
import { verifyTotp } from './verify.js';

/**
 * RFC 6238 Appendix B, SHA-1 rows. Source: https://www.rfc-editor.org/rfc/rfc6238#appendix-B
 * (the seed is the 20 ASCII bytes "12345678901234567890"; codes are 8 digits).
 */
const RFC6238_SECRET_ASCII = '12345678901234567890';
const RFC6238_SHA1: ReadonlyArray<{ time: number; code: string }> = [
  { time: 59, code: '94287082' },
  { time: 1111111109, code: '07081804' },
  { time: 1111111111, code: '14050471' },
  { time: 1234567890, code: '89005924' },
  { time: 2000000000, code: '69279037' },
  { time: 20000000000, code: '65353130' },
];
const RFC_SECRET_BASE32 = new ScureBase32Plugin().encode(stringToBytes(RFC6238_SECRET_ASCII), {
  padding: false,
});

describe('RFC 6238 Appendix B known answers (SHA-1)', () => {
  it('the ASCII seed is GEZDGNBVGY3TQOJQ... in base32', () => {
    expect(RFC_SECRET_BASE32).toBe('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ');
  });

  it.each(RFC6238_SHA1)('otplib, 8 digits, T=$time → $code', async ({ time, code }) => {
    const generated = await generate({
      secret: stringToBytes(RFC6238_SECRET_ASCII),
      algorithm: 'sha1',
      digits: 8,
      period: 30,
      epoch: time,
    });
    expect(generated).toBe(code);
  });

  it.each(RFC6238_SHA1)(
    'verifyTotp accepts the 6-digit form at T=$time (step floor(T/30))',
    ({ time, code }) => {
      // A d-digit HOTP value is the truncated integer mod 10^d, so the 6-digit code is the last 6 digits.
      const result = verifyTotp(RFC_SECRET_BASE32, code.slice(-6), { now: time * 1000 });
      expect(result).toEqual({ ok: true, step: Math.floor(time / 30) });
    },
  );
});

const SECRET = generateTotpSecret();
const T = 1_700_000_015; // seconds, mid-step
const STEP = Math.floor(T / 30);
const codeAt = (step: number) => generateSync({ secret: SECRET, epoch: step * 30 });

describe('window: one step either side', () => {
  it.each([
    [-1, true],
    [0, true],
    [1, true],
    [-2, false],
    [2, false],
    [-10, false],
  ])('a code from step %+d is accepted: %s', (offset, accepted) => {
    const result = verifyTotp(SECRET, codeAt(STEP + offset), { now: T * 1000 });
    expect(result).toEqual(accepted ? { ok: true, step: STEP + offset } : { ok: false, reason: 'invalid' });
  });

  it('the window follows step boundaries, not a ±30 s span of seconds', () => {
    const startOfStep = STEP * 30 * 1000;
    const endOfStep = (STEP * 30 + 29) * 1000 + 999;
    for (const now of [startOfStep, endOfStep]) {
      expect(verifyTotp(SECRET, codeAt(STEP - 1), { now }).ok).toBe(true);
      expect(verifyTotp(SECRET, codeAt(STEP + 1), { now }).ok).toBe(true);
      expect(verifyTotp(SECRET, codeAt(STEP - 2), { now }).ok).toBe(false);
      expect(verifyTotp(SECRET, codeAt(STEP + 2), { now }).ok).toBe(false);
    }
  });

  it('a code for another secret is invalid', async () => {
    const other = generateTotpSecret();
    const code = await generate({ secret: other, epoch: T });
    expect(verifyTotp(SECRET, code, { now: T * 1000 })).toEqual({ ok: false, reason: 'invalid' });
  });

  it('defaults to the current time', async () => {
    const code = await generate({ secret: SECRET });
    expect(verifyTotp(SECRET, code).ok).toBe(true);
  });
});

describe('replayed TOTP code', () => {
  it('the same code is accepted once, then refused as replayed within its window', () => {
    const code = codeAt(STEP);
    const first = verifyTotp(SECRET, code, { now: T * 1000, lastUsedStep: null });
    expect(first).toEqual({ ok: true, step: STEP });
    for (const later of [T, T + 20, T + 40]) {
      expect(verifyTotp(SECRET, code, { now: later * 1000, lastUsedStep: STEP })).toEqual({
        ok: false,
        reason: 'replayed',
      });
    }
  });

  it('an older, still-in-window code cannot be used after a newer one', () => {
    expect(verifyTotp(SECRET, codeAt(STEP - 1), { now: T * 1000, lastUsedStep: STEP })).toEqual({
      ok: false,
      reason: 'replayed',
    });
  });

  it('the next step’s code is still accepted after this step’s', () => {
    expect(verifyTotp(SECRET, codeAt(STEP + 1), { now: T * 1000, lastUsedStep: STEP })).toEqual({
      ok: true,
      step: STEP + 1,
    });
  });

  it('after a future step was used (clock drift), every code in the window is refused without throwing', () => {
    for (const offset of [-1, 0, 1]) {
      expect(verifyTotp(SECRET, codeAt(STEP + offset), { now: T * 1000, lastUsedStep: STEP + 1 })).toEqual({
        ok: false,
        reason: 'replayed',
      });
    }
    expect(verifyTotp(SECRET, codeAt(STEP), { now: T * 1000, lastUsedStep: STEP + 50 })).toEqual({
      ok: false,
      reason: 'replayed',
    });
  });

  it('a wrong code with a lastUsedStep is invalid, not replayed', () => {
    const wrong = (Number(codeAt(STEP)) + 1).toString().padStart(6, '0').slice(-6);
    expect(verifyTotp(SECRET, wrong, { now: T * 1000, lastUsedStep: STEP - 5 })).toEqual({
      ok: false,
      reason: 'invalid',
    });
  });

  it('a lastUsedStep long in the past does not get in the way', () => {
    expect(verifyTotp(SECRET, codeAt(STEP - 1), { now: T * 1000, lastUsedStep: 3 })).toEqual({
      ok: true,
      step: STEP - 1,
    });
  });
});

describe('malformed codes are refused without throwing', () => {
  it.each([
    ['empty', ''],
    ['five digits', '12345'],
    ['seven digits', '1234567'],
    ['eight digits (RFC vector length)', '94287082'],
    ['letters', '12a456'],
    ['spaces', '123 456'],
    ['surrounding whitespace', ' 123456'],
    ['sign', '+12345'],
    ['decimal', '1234.5'],
    ['non-ASCII digits', '١٢٣٤٥٦'],
    ['full-width digits', '１２３４５６'],
    ['number instead of string', 123456 as unknown as string],
    ['undefined', undefined as unknown as string],
  ])('%s', (_name, code) => {
    expect(verifyTotp(SECRET, code, { now: T * 1000 })).toEqual({ ok: false, reason: 'malformed' });
  });
});

describe('bad inputs from the server side', () => {
  it.each([
    ['empty', ''],
    ['lower case', SECRET.toLowerCase()],
    ['padded', `${SECRET.slice(0, 24)}====`],
    ['too short (10 bytes)', SECRET.slice(0, 16)],
    ['not base32', SECRET.replace(/.$/, '1')],
  ])('an unusable stored secret (%s) is a TotpError that does not echo it', (_name, secret) => {
    let err: unknown;
    try {
      verifyTotp(secret, '123456', { now: T * 1000 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TotpError);
    expect(err).toMatchObject({ code: 'invalid_secret' });
    if (secret !== '') expect(`${String(err)} ${JSON.stringify(err)}`).not.toContain(secret);
  });

  it('refuses a negative or fractional lastUsedStep and a bad clock as programmer errors', () => {
    const code = codeAt(STEP);
    expect(() => verifyTotp(SECRET, code, { now: T * 1000, lastUsedStep: -1 })).toThrow(RangeError);
    expect(() => verifyTotp(SECRET, code, { now: T * 1000, lastUsedStep: 1.5 })).toThrow(RangeError);
    expect(() => verifyTotp(SECRET, code, { now: Number.NaN })).toThrow(RangeError);
    expect(() => verifyTotp(SECRET, code, { now: -1 })).toThrow(RangeError);
  });
});
