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
