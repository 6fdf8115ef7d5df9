import { inspect } from 'node:util';
import bs58 from 'bs58';
import { describe, expect, it } from 'vitest';
import { parseApiKey, parseToken, type TokenEnv, type TokenKind } from './format.js';
import { generateApiKey, generateToken } from './generate.js';
import { hashToken } from './hash.js';
import { safeEqualHex } from './safe-equal.js';

const { key: KEY } = generateApiKey('live');
const RANDOM = KEY.slice('rk_live_'.length);

describe('parseApiKey refuses anything but a well-formed key', () => {
  it.each([
    ['empty', ''],
    ['no random part', 'rk_live_'],
    ['unknown kind', `sk_live_${RANDOM}`],
    ['upper-case kind', `RK_live_${RANDOM}`],
    ['unknown env', `rk_prod_${RANDOM}`],
    ['missing env', `rk_${RANDOM}`],
    ['runtime token', `rt_live_${RANDOM}`],
    ['leading space', ` ${KEY}`],
    ['trailing newline', `${KEY}\n`],
    ['dash separators', KEY.replaceAll('_', '-')],
    ['Bearer prefix', `Bearer ${KEY}`],
    ['too long (45 chars)', `rk_live_${'2'.repeat(45)}`],
    ['too short (31 chars)', `rk_live_${'2'.repeat(31)}`],
    ['right length, decodes to more than 32 bytes', `rk_live_${'z'.repeat(44)}`],
    ['right length, decodes to fewer than 32 bytes', `rk_live_${'2'.repeat(36)}`],
    ['33 bytes encoded', `rk_live_${bs58.encode(Buffer.alloc(33, 0xff))}`],
    ['31 bytes encoded', `rk_live_${bs58.encode(Buffer.alloc(31, 0xff))}`],
  ])('%s', (_name, text) => {
    expect(parseApiKey(text)).toBeNull();
    expect(parseToken(text)?.kind === 'rk' ? 'parsed' : null).toBeNull();
  });

  it.each(['0', 'O', 'I', 'l', '+', '/', '=', '_', '-', 'é'])(
    'a character outside base58 (%j) anywhere in the random part',
    (bad) => {
      for (const at of [0, 10, RANDOM.length - 1]) {
        const text = `rk_live_${RANDOM.slice(0, at)}${bad}${RANDOM.slice(at + 1)}`;
        expect(parseApiKey(text)).toBeNull();
      }
    },
  );

  it('refuses non-strings without throwing', () => {
    for (const value of [undefined, null, 42, {}, Buffer.from(KEY)]) expect(parseApiKey(value)).toBeNull();
  });

  it('accepts 32 bytes with leading zero bytes (shorter strings of leading 1s)', () => {
    const zeros = bs58.encode(Buffer.concat([Buffer.alloc(3), Buffer.alloc(29, 0xab)]));
    expect(zeros.startsWith('111')).toBe(true);
    expect(parseApiKey(`rk_test_${zeros}`)).toEqual({ env: 'test', prefix: zeros.slice(0, 8) });
    const allZero = bs58.encode(Buffer.alloc(32));
    expect(allZero).toBe('1'.repeat(32));
    expect(parseApiKey(`rk_live_${allZero}`)).not.toBeNull();
  });
});

describe('safeEqualHex', () => {
  const a = hashToken(KEY);
  const b = hashToken(generateApiKey().key);

  it('is true only for identical hex strings', () => {
    expect(safeEqualHex(a, a)).toBe(true);
    expect(safeEqualHex(a, `${a}`)).toBe(true);
    expect(safeEqualHex(a, b)).toBe(false);
    expect(safeEqualHex(a, `${a.slice(0, -1)}${a.endsWith('0') ? '1' : '0'}`)).toBe(false);
  });

  it('answers false, without throwing, for different lengths, odd lengths, non-hex and non-strings', () => {
    expect(safeEqualHex(a, a.slice(0, -2))).toBe(false);
    expect(safeEqualHex(a.slice(0, -1), a.slice(0, -1))).toBe(false);
    expect(safeEqualHex('', '')).toBe(false);
    expect(safeEqualHex(a.toUpperCase(), a.toUpperCase())).toBe(false);
    // Buffer.from(..., 'hex') stops at the first bad character; both would decode to the same bytes.
    expect(safeEqualHex(`${a.slice(0, 62)}zz`, `${a.slice(0, 62)}yy`)).toBe(false);
    expect(safeEqualHex(a, undefined as unknown as string)).toBe(false);
  });
});

describe('a key never appears in a thrown error', () => {
  function thrown(run: () => unknown): Error {
    try {
      run();
    } catch (err) {
      return err as Error;
    }
    throw new Error('expected the call to throw');
  }

  const leaks = (err: Error) =>
    [err.message, String(err), inspect(err, { depth: 5 }), err.stack ?? ''].some(
      (text) => text.includes(KEY) || text.includes(RANDOM),
    );

  it.each<[string, () => unknown]>([
    ['generateToken(key as kind)', () => generateToken(KEY as TokenKind, 'live')],
    ['generateToken(kind, key as env)', () => generateToken('rk', KEY as TokenEnv)],
    ['generateApiKey(key as env)', () => generateApiKey(KEY as TokenEnv)],
    ['hashToken(key wrapped in an object)', () => hashToken({ key: KEY } as unknown as string)],
    ['hashToken(key as bytes)', () => hashToken(Buffer.from(KEY) as unknown as string)],
  ])('%s throws a TypeError that does not echo its input', (_name, run) => {
    const err = thrown(run);
    expect(err).toBeInstanceOf(TypeError);
    expect(leaks(err)).toBe(false);
  });

  it('parsers and comparers never throw on key-bearing garbage, so there is no message to leak', () => {
    for (const text of [KEY, `${KEY}!`, ` ${KEY}`, KEY.replace('rk_', 'rt_'), { key: KEY }, [KEY]]) {
      expect(() => parseApiKey(text)).not.toThrow();
      expect(() => parseToken(text)).not.toThrow();
      expect(() => safeEqualHex(KEY, text as string)).not.toThrow();
    }
  });
});
