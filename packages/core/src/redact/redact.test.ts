import { describe, expect, it } from 'vitest';
import { PII_KINDS, REPLACEMENTS } from './kinds.js';
import { redact } from './redact.js';

describe('redact', () => {
  it('replaces each kind with its placeholder and keeps everything else byte for byte', () => {
    expect(
      redact(
        'Hi!\n  Mail jane@example.com,\tSSN 123-45-6789; call (555) 234-5678 / card 4111-1111-1111-1111.',
      ),
    ).toBe('Hi!\n  Mail [EMAIL],\tSSN [SSN]; call [PHONE] / card [CREDIT_CARD].');
  });

  it('reads typographic separators (no-break and thin spaces, Unicode hyphens, en dash) as plain ones', () => {
    const cases: [string, string][] = [
      ['Tel. +48\u202f512\u202f345\u202f678.', 'Tel. [PHONE].'],
      ['call +1 242\u2013345\u20136789 today', 'call [PHONE] today'],
      ['card 4683\u00a02457\u00a02782\u00a08920 ok', 'card [CREDIT_CARD] ok'],
      ['SSN 123\u201145\u20116789', 'SSN [SSN]'],
      ['portable 06\u200963\u200918\u200928\u200954', 'portable [PHONE]'],
    ];
    for (const [text, expected] of cases) expect(redact(text), text).toBe(expected);
    // The same rules keep look-alikes out: a year range with an en dash is not a phone.
    expect(redact('from 2005\u20132023')).toBe('from 2005\u20132023');
  });

  it('has one placeholder per kind, none containing a digit or @', () => {
    expect(Object.keys(REPLACEMENTS).sort()).toEqual([...PII_KINDS].sort());
    for (const r of Object.values(REPLACEMENTS)) expect(r).toMatch(/^\[[A-Z_]+\]$/);
  });

  it('returns the same string when there is nothing to redact', () => {
    const text = 'Version 1.2.3.4 shipped on 2024-03-15 to 10.0.0.1 for $1,234.56.';
    expect(redact(text)).toBe(text);
  });

  it('honours opts.kinds', () => {
    const text = 'jane@example.com 123-45-6789';
    expect(redact(text, { kinds: new Set(['ssn']) })).toBe('jane@example.com [SSN]');
    expect(redact(text, { kinds: new Set(['email']) })).toBe('[EMAIL] 123-45-6789');
  });

  it('is idempotent on adjacent and nested-looking items', () => {
    for (const text of [
      '555-234-5678+44 20 7946 0958',
      'jane@example.com.4111111111111111',
      '(555) 234-5678.jane@example.com',
      '4111111111111111@localhost',
      'x@4111111111111111',
      '+44 20 7946 0958.a@example.com',
      '123-45-6789 123-45-6789',
    ]) {
      const once = redact(text);
      expect(redact(once), text).toBe(once);
    }
  });

  it('leaves unpaired surrogates and non-ASCII text intact', () => {
    const text = '\uD800 café ☕ 電話 ０１２３ jane@example.com';
    expect(redact(text)).toBe('\uD800 café ☕ 電話 ０１２３ [EMAIL]');
  });

  it('rejects a non-string with a TypeError', () => {
    expect(() => redact(undefined as unknown as string)).toThrow(TypeError);
  });
});
