import { describe, expect, it } from 'vitest';
import { generateRecoveryCodes, normalizeRecoveryCode, RECOVERY_CODE_BITS } from './recovery.js';

const SHAPE = /^[0-9a-hjkmnp-tv-z]{4}-[0-9a-hjkmnp-tv-z]{4}-[0-9a-hjkmnp-tv-z]{4}$/;

describe('generateRecoveryCodes', () => {
  it('makes 10 distinct xxxx-xxxx-xxxx codes by default, with at least 60 bits each', () => {
    const codes = generateRecoveryCodes();
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    for (const code of codes) expect(code).toMatch(SHAPE);
    expect(RECOVERY_CODE_BITS).toBeGreaterThanOrEqual(60);
  });

  it('never uses the look-alike letters i, l, o, u', () => {
    const all = generateRecoveryCodes(100).join('');
    expect(all).not.toMatch(/[ilou]/);
  });

  it('uses every symbol of the alphabet (no stuck bits) over many codes', () => {
    const symbols = new Set<string>();
    for (let i = 0; i < 20; i++)
      for (const c of generateRecoveryCodes(100).join('').replaceAll('-', '')) symbols.add(c);
    expect(symbols.size).toBe(32);
  });

  it('takes n and refuses nonsense counts', () => {
    expect(generateRecoveryCodes(1)).toHaveLength(1);
    expect(generateRecoveryCodes(16)).toHaveLength(16);
    for (const bad of [0, -1, 1.5, 101, Number.NaN])
      expect(() => generateRecoveryCodes(bad)).toThrow(RangeError);
  });
});

describe('normalizeRecoveryCode', () => {
  it('maps a generated code to one canonical form however it is typed', () => {
    for (const code of generateRecoveryCodes(20)) {
      const canonical = normalizeRecoveryCode(code);
      expect(canonical).toMatch(/^[0-9A-HJKMNP-TV-Z]{12}$/);
      for (const typed of [code.toUpperCase(), code.replaceAll('-', ''), ` ${code.replaceAll('-', ' ')} `]) {
        expect(normalizeRecoveryCode(typed)).toBe(canonical);
      }
    }
  });

  it('reads O as 0 and I, L as 1 (what a person copying by hand writes)', () => {
    expect(normalizeRecoveryCode('o1l0-iIlL-OoOo')).toBe('011011110000');
    expect(normalizeRecoveryCode(' 7K2M 9XQ4-HVOC ')).toBe('7K2M9XQ4HV0C');
  });

  it.each([
    ['empty', ''],
    ['too short', 'abcd-efgh-jkm'],
    ['too long', 'abcd-efgh-jkmn-p'],
    ['U is not in the alphabet', 'abcd-efgh-jkmu'],
    ['punctuation', 'abcd_efgh_jkmn'],
    ['not a string', 42],
    ['huge', 'a'.repeat(10_000)],
  ])('%s → null', (_name, input) => {
    expect(normalizeRecoveryCode(input)).toBeNull();
  });
});
