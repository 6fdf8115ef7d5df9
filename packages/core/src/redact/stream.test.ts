import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PII_KINDS } from './kinds.js';
import { redact } from './redact.js';
import { maskReplacer, PlaceholderMap, redactWith } from './reversible.js';
import { StreamRedactor, StreamRestorer } from './stream.js';

const ALL = new Set(PII_KINDS);

/** Feeds `pieces` through a fresh redactor; returns what was sent after each piece, and the total. */
function run(pieces: string[], json = false) {
  const r = new StreamRedactor(maskReplacer, { json });
  const sent = pieces.map((p) => r.push(p));
  sent.push(r.flush());
  return { sent, text: sent.join('') };
}

describe('StreamRedactor', () => {
  it('finds a phone number split across pieces, and never sends a part of it', () => {
    const { sent, text } = run(['Call me at (415) 55', '5-0134 to', 'morrow.']);
    expect(text).toBe('Call me at [PHONE] tomorrow.');
    for (const s of sent) expect(s).not.toMatch(/\d/);
  });

  it('gives the same result as redact() over the whole text, whatever the split', () => {
    const text =
      'Mail bob.smith@example.com or call (415) 555-0134; card 4111 1111 1111 1111; SSN 123-45-6789, call +44 20 7946 0958 now.';
    for (let size = 1; size <= 12; size++) {
      const pieces: string[] = [];
      for (let i = 0; i < text.length; i += size) pieces.push(text.slice(i, i + size));
      expect(run(pieces).text, `size ${size}`).toBe(redact(text));
    }
  });

  it('a word after a number that makes it an item (SSN word, extension) is waited for, never leaked', () => {
    for (const text of [
      '123456789 is my SSN, thanks.',
      'Appelez le 514 907-6015, poste 271 demain.',
      'Call 322-844-3240 extension 582 now.',
    ]) {
      const whole = redact(text);
      for (let cut = 1; cut < text.length; cut++) {
        expect(run([text.slice(0, cut), text.slice(cut)]).text, `${text} cut at ${cut}`).toBe(whole);
      }
    }
  });

  it('streamed one character at a time, every sentence of the outside corpus redacts as it does whole', () => {
    const texts = ['faker.jsonl', 'libphonenumber.jsonl'].flatMap((f) =>
      readFileSync(new URL(`./corpus/outside/${f}`, import.meta.url), 'utf8')
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { text: string }).text),
    );
    expect(texts.length).toBeGreaterThan(3000);
    const differ = texts.filter((t) => run([...t]).text !== redact(t));
    expect(differ).toEqual([]);
  });

  it('holds back only a small tail: prose goes through at once', () => {
    const r = new StreamRedactor(maskReplacer);
    expect(r.push('Hello there, how are you doing today? ')).toBe('Hello there, how are you doing today? ');
    expect(r.push('I am fine')).toBe('I am ');
    expect(r.held).toBe(4);
    expect(r.push(' and 415')).toBe('fine and');
    expect(r.flush()).toBe(' 415');
  });

  it('JSON mode: streamed tool-call arguments are redacted inside strings and stay valid', () => {
    const args = '{"to":"jane@example.com","phone":"415-555-0134","card":4111111111111111}';
    for (let size = 1; size <= 9; size++) {
      const pieces: string[] = [];
      for (let i = 0; i < args.length; i += size) pieces.push(args.slice(i, i + size));
      const { text } = run(pieces, true);
      expect(JSON.parse(text), `size ${size}`).toEqual({
        to: '[EMAIL]',
        phone: '[PHONE]',
        card: '[CREDIT_CARD]',
      });
    }
  });

  it('is linear: 200 kB of digits and separators in small pieces', () => {
    const r = new StreamRedactor(maskReplacer);
    const t0 = performance.now();
    let n = 0;
    for (let i = 0; i < 10_000; i++) n += r.push('1-2 3.4 5 6 7 8 9 0 ').length;
    n += r.flush().length;
    expect(n).toBeGreaterThan(0);
    expect(performance.now() - t0).toBeLessThan(5_000);
  });
});

describe('StreamRestorer', () => {
  it('puts back placeholders split across pieces', () => {
    const map = new PlaceholderMap();
    redactWith('jane@example.com 555-234-5678', ALL, map.replacer);
    const r = new StreamRestorer(map);
    const out = ['Mail [EM', 'AIL_1] or call [PHONE', '_1', ']. [x] [', 'EMAIL]'].map((p) => r.push(p));
    out.push(r.flush());
    expect(out.join('')).toBe('Mail jane@example.com or call 555-234-5678. [x] [EMAIL]');
    expect(out[0]).toBe('Mail ');
  });
});
