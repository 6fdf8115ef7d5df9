import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mask } from './mask.js';

describe('mask examples', () => {
  it.each([
    ['sk-proj-abcdefghijklmnop1234', 'sk-...1234'],
    ['ghp_0123456789abcdefghijklmnopqrstuvwxyz', 'ghp_...wxyz'],
    ['pk_live_0123456789abcdefWXYZ', 'pk_...WXYZ'],
    ['xoxb-0123456789-abcdefghij', '...ghij'], // 4-letter vendor part: prefix would be 5 chars
    ['abcdefghijkl', '...ijkl'], // 12 chars, no prefix: last 4 = exactly a third
    ['sk-abcdefghi', '...fghi'], // 12 chars: prefix + suffix would reveal 7 of 12
    ['sk-abcdefghijklmnopqr', 'sk-...opqr'], // 21 chars: 3 + 4 = a third exactly
    ['-abcdefghijklmnopqrstu', '...rstu'], // a separator alone is not a prefix
    ['🔑🔑🔑🔑🔑🔑🔑🔑abcd', '...abcd'], // length counts code points, not UTF-16 units
    ['aaaaaaaa🔑🔑🔑🔑', '...🔑🔑🔑🔑'], // the suffix never splits a surrogate pair
  ])('%s → %s', (secret, masked) => {
    expect(mask(secret)).toBe(masked);
  });

  it.each(['', 'a', 'hunter2', 'sk-12345', 'abcdefghijk', '🔑🔑🔑🔑🔑🔑🔑🔑🔑🔑🔑'])(
    'short value %j → ****',
    (secret) => {
      expect(mask(secret)).toBe('****');
    },
  );
});

describe('mask properties', () => {
  const secret = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 80 }),
    fc.string({ maxLength: 80 }),
    fc
      .tuple(fc.stringMatching(/^[A-Za-z0-9]{1,5}[-_]$/), fc.string({ unit: 'binary', maxLength: 80 }))
      .map(([p, rest]) => p + rest),
  );

  it('never shows more than the prefix (<= 4 chars) and the last 4 characters, and never a third or more', () => {
    fc.assert(
      fc.property(secret, (s) => {
        const m = mask(s);
        const chars = Array.from(s);
        if (m === '****') return;
        const at = m.indexOf('...');
        expect(at).toBeGreaterThanOrEqual(0);
        const prefix = m.slice(0, at);
        const suffix = m.slice(at + 3);
        expect(prefix.length).toBeLessThanOrEqual(4);
        expect(s.startsWith(prefix)).toBe(true);
        expect(suffix).toBe(chars.slice(-4).join(''));
        expect((prefix.length + Array.from(suffix).length) * 3).toBeLessThanOrEqual(chars.length);
      }),
      { numRuns: 200 },
    );
  });

  it('values under 12 characters always give **** (length is not revealed either)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 11 }), (s) => {
        expect(mask(s)).toBe('****');
      }),
      { numRuns: 200 },
    );
  });

  it('does not depend on the middle of the value', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme-ascii', minLength: 12, maxLength: 60 }),
        fc.string({ unit: 'grapheme-ascii', minLength: 4, maxLength: 4 }),
        (s, middle) => {
          const chars = Array.from(s);
          const changed = [...chars.slice(0, 4), ...Array.from(middle), ...chars.slice(8)].join('');
          // Only compare when the prefix region is unchanged; the rest of the middle must not matter.
          fc.pre(chars.length >= 12 && s.slice(0, 4) === changed.slice(0, 4));
          expect(mask(changed)).toBe(mask(s));
        },
      ),
      { numRuns: 200 },
    );
  });
});
