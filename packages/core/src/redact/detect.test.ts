import { describe, expect, it } from 'vitest';
import { detect } from './detect.js';
import type { PiiKind } from './kinds.js';

const MIXED = 'Jane <jane@example.com>, SSN 123-45-6789, call +1 555 234 5678, card 4111 1111 1111 1111.';

describe('detect', () => {
  it('returns every item with its kind and exact offsets, in order', () => {
    const spans = detect(MIXED);
    expect(spans.map((s) => [s.kind, MIXED.slice(s.start, s.end)])).toEqual([
      ['email', 'jane@example.com'],
      ['ssn', '123-45-6789'],
      ['phone', '+1 555 234 5678'],
      ['credit_card', '4111 1111 1111 1111'],
    ]);
  });

  it('finds numbers before, between and after addresses', () => {
    const text = '555-234-5678 a@example.com 4111111111111111 b@example.org 123-45-6789';
    expect(detect(text).map((s) => s.kind)).toEqual(['phone', 'email', 'credit_card', 'email', 'ssn']);
  });

  it('finds nothing in text without digits or @', () => {
    expect(detect('Nothing to see here: just words, punctuation (and) émojis 🎉.')).toEqual([]);
    expect(detect('')).toEqual([]);
  });

  it.each<[PiiKind, string]>([
    ['email', 'jane@example.com'],
    ['ssn', '123-45-6789'],
    ['phone', '+1 555 234 5678'],
    ['credit_card', '4111 1111 1111 1111'],
  ])('with kinds = {%s} reports only that kind', (kind, value) => {
    const spans = detect(MIXED, { kinds: new Set([kind]) });
    expect(spans.map((s) => MIXED.slice(s.start, s.end))).toEqual([value]);
  });

  it('with an empty kinds set reports nothing', () => {
    expect(detect(MIXED, { kinds: new Set() })).toEqual([]);
  });

  it('without e-mail detection, numbers inside addresses are found on their own', () => {
    const text = 'x.555-234-5678@example.com';
    expect(detect(text)).toEqual([{ kind: 'email', start: 0, end: text.length }]);
    expect(detect(text, { kinds: new Set(['phone']) })).toEqual([{ kind: 'phone', start: 2, end: 14 }]);
  });

  it('rejects a non-string text and malformed kinds with a TypeError', () => {
    expect(() => detect(42 as unknown as string)).toThrow(TypeError);
    expect(() => detect('x', { kinds: ['email'] as unknown as Set<PiiKind> })).toThrow(TypeError);
    expect(() => detect('x', { kinds: new Set(['name' as PiiKind]) })).toThrow(TypeError);
  });

  it('does not echo the input in its errors', () => {
    const secret = '4111111111111111';
    expect(() => detect('x', { kinds: new Set([secret as PiiKind]) })).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining(secret) }),
    );
  });
});
