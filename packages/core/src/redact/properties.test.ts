import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { detect } from './detect.js';
import { REPLACEMENTS } from './kinds.js';
import { redact } from './redact.js';

const RUNS = { numRuns: 500 };

function luhnCheckDigit(body: string): number {
  let sum = 0;
  for (let i = 0; i < body.length; i++) {
    let d = Number(body[body.length - 1 - i]);
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return (10 - (sum % 10)) % 10;
}

const digitString = (min: number, max: number) =>
  fc.array(fc.constantFrom(...'0123456789'), { minLength: min, maxLength: max }).map((d) => d.join(''));

/** An issuer prefix (IIN) in use for 13-19 digit cards: Visa, Mastercard, Amex, Discover, JCB, Diners, Maestro... */
const issuer = fc.constantFrom(
  '4',
  '51',
  '55',
  '2221',
  '2720',
  '34',
  '37',
  '6011',
  '65',
  '3528',
  '3056',
  '36',
  '62',
  '50',
  '67',
);

/** A Luhn-valid number of 13-19 digits with an issuer prefix. */
const luhnNumber = fc.tuple(issuer, digitString(12, 18)).map(([iin, rest]) => {
  const body = (iin + rest).slice(0, Math.max(12, rest.length));
  return body + String(luhnCheckDigit(body));
});

/** A 16-digit number whose check digit is wrong. */
const nonLuhn16 = fc
  .tuple(digitString(15, 15), fc.integer({ min: 1, max: 9 }))
  .map(([body, off]) => body + String((luhnCheckDigit(body) + off) % 10));

const anyText = fc.string({ unit: 'binary', maxLength: 40 });

// What may stand between the number and arbitrary text: whitespace and punctuation whose character next to
// the number is not a joiner (`- . / :` touching a digit would make it part of a larger token such as a date
// or a decimal, by design).
const before = fc.constantFrom(
  ' ',
  '\n',
  '\t',
  '(',
  '[',
  '{',
  '"',
  "'",
  '<',
  '=',
  '#',
  ': ',
  ', ',
  '; ',
  ' - ',
  '|',
);
const after = fc.constantFrom(
  ' ',
  '\n',
  '\t',
  ')',
  ']',
  '}',
  '"',
  "'",
  '>',
  ',',
  ';',
  '!',
  '?',
  '. ',
  ': ',
  ' - ',
  '|',
);

/** Fragments that collide in interesting ways when concatenated without spaces. */
const fragment = fc.oneof(
  luhnNumber,
  nonLuhn16,
  digitString(1, 12),
  fc.constantFrom(
    'jane@example.com',
    'a@b.co',
    '@',
    '.',
    '-',
    ' ',
    '+',
    '(',
    ')',
    '/',
    ':',
    '[',
    ']',
    'x',
    '_',
    '555-234-5678',
    '(555) 234-5678',
    '+44 20 7946 0958',
    '+1 555 234 5678',
    '123-45-6789',
    '123 45 6789',
    '4111 1111 1111 1111',
    '4111-1111-1111-1111',
    '[EMAIL]',
    '[CREDIT_CARD]',
  ),
  anyText,
);
const soup = fc.array(fragment, { maxLength: 12 }).map((parts) => parts.join(''));

describe('redaction properties', () => {
  it('is idempotent: redact(redact(x)) === redact(x), even for adjacent, colliding items', () => {
    fc.assert(
      fc.property(soup, (text) => {
        const once = redact(text);
        expect(redact(once)).toBe(once);
      }),
      { numRuns: 2000 },
    );
  });

  it('never leaks a Luhn-valid 13-19 digit number embedded in arbitrary text', () => {
    fc.assert(
      fc.property(anyText, before, luhnNumber, after, anyText, (pre, sep1, pan, sep2, post) => {
        expect(redact(pre + sep1 + pan + sep2 + post)).not.toContain(pan);
      }),
      RUNS,
    );
  });

  it('never leaks a Luhn-valid 16-digit number grouped 4-4-4-4 with spaces or dashes', () => {
    // Grouped, the number must not touch another digit group through a bare space: `1234 4111 1111 1111 1111`
    // is one 20-digit number by design. So only separators with punctuation are used here.
    const punctBefore = before.filter((s) => s.trim() !== '');
    const punctAfter = after.filter((s) => s.trim() !== '');
    const grouped = fc
      .tuple(issuer, digitString(15, 15), fc.constantFrom(' ', '-'))
      .map(([iin, rest, sep]) => {
        const body = (iin + rest).slice(0, 15);
        const pan = body + String(luhnCheckDigit(body));
        return { pan, shown: [0, 4, 8, 12].map((i) => pan.slice(i, i + 4)).join(sep) };
      });
    fc.assert(
      fc.property(
        anyText,
        punctBefore,
        grouped,
        punctAfter,
        anyText,
        (pre, sep1, { pan, shown }, sep2, post) => {
          const out = redact(pre + sep1 + shown + sep2 + post);
          expect(out).not.toContain(shown);
          expect(out.replace(/[ -]/g, '')).not.toContain(pan);
        },
      ),
      RUNS,
    );
  });

  it('leaves a 16-digit number that fails the Luhn check intact, alone or in prose', () => {
    const prose = fc.string({ maxLength: 30 }).map((s) => s.replace(/[\d@]/g, ''));
    fc.assert(
      fc.property(nonLuhn16, prose, prose, (n, a, b) => {
        expect(redact(n)).toBe(n);
        const text = `${a} ${n} ${b}`;
        expect(redact(text)).toBe(text);
      }),
      RUNS,
    );
  });

  it('leaves text without digits or @ unchanged', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (s) => {
        const text = s.replace(/[0-9@]/g, '');
        expect(redact(text)).toBe(text);
      }),
      RUNS,
    );
  });

  it('reports sorted, non-overlapping, in-bounds spans, and redact() replaces exactly those', () => {
    fc.assert(
      fc.property(soup, (text) => {
        const spans = detect(text);
        let end = 0;
        let expected = '';
        for (const s of spans) {
          expect(s.start).toBeGreaterThanOrEqual(end);
          expect(s.end).toBeGreaterThan(s.start);
          expect(s.end).toBeLessThanOrEqual(text.length);
          expected += text.slice(end, s.start) + REPLACEMENTS[s.kind];
          end = s.end;
        }
        expect(redact(text)).toBe(expected + text.slice(end));
      }),
      RUNS,
    );
  });
});
