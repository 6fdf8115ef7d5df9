import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { PII_KINDS } from '../kinds.js';
import { generateCorpus, toJsonl } from './generate.js';
import { parseCorpus, withPlaceholders } from './score.js';
import { luhnSum } from './values.js';

// Regenerate after changing the generator: RAMPART_WRITE_CORPUS=1 npx vitest run
// packages/core/src/redact/corpus
const file = (name: string) => fileURLToPath(new URL(name, import.meta.url));
const { positives, negatives, limitations } = generateCorpus();

describe('labelled corpus', () => {
  it('the committed JSONL files are exactly what the seeded generator produces', () => {
    if (process.env.RAMPART_WRITE_CORPUS === '1') {
      writeFileSync(file('positives.jsonl'), toJsonl(positives));
      writeFileSync(file('negatives.jsonl'), toJsonl(negatives));
      writeFileSync(file('limitations.jsonl'), toJsonl(limitations));
    }
    expect(readFileSync(file('positives.jsonl'), 'utf8')).toBe(toJsonl(positives));
    expect(readFileSync(file('negatives.jsonl'), 'utf8')).toBe(toJsonl(negatives));
    expect(readFileSync(file('limitations.jsonl'), 'utf8')).toBe(toJsonl(limitations));
    expect(parseCorpus(toJsonl(positives))).toEqual(JSON.parse(JSON.stringify(positives)));
  });

  it('has at least 500 positive and 500 negative cases, every kind at least 100 times', () => {
    expect(positives.length).toBeGreaterThanOrEqual(500);
    expect(negatives.length).toBeGreaterThanOrEqual(500);
    for (const kind of PII_KINDS) {
      const n = positives.flatMap((c) => c.spans).filter((s) => s.kind === kind).length;
      expect(n, kind).toBeGreaterThanOrEqual(100);
    }
  });

  it('each expected redaction is the text with exactly its labelled spans replaced', () => {
    for (const c of [...positives, ...negatives, ...limitations])
      expect(c.redacted, c.id).toBe(withPlaceholders(c));
    for (const c of negatives) expect(c.spans, c.id).toEqual([]);
  });

  // The labels are checked against the rules with code independent of the engine's, so a generator bug
  // cannot hide behind a matching detector bug.
  it('labelled card numbers pass the Luhn check and have 13-19 digits', () => {
    for (const c of positives) {
      for (const s of c.spans.filter((x) => x.kind === 'credit_card')) {
        const digits = c.text.slice(s.start, s.end).replace(/[ -]/g, '');
        expect(digits, c.id).toMatch(/^\d{13,19}$/);
        expect(luhnSum(digits), c.id).toBe(0);
      }
    }
  });

  it('labelled SSNs have a possible area, group and serial', () => {
    for (const c of positives) {
      for (const s of c.spans.filter((x) => x.kind === 'ssn')) {
        const m = /^(\d{3})([- ])(\d{2})\2(\d{4})$/.exec(c.text.slice(s.start, s.end));
        expect(m, c.id).not.toBeNull();
        const [area, group, serial] = [Number(m?.[1]), Number(m?.[3]), Number(m?.[4])];
        expect(area !== 0 && area !== 666 && area < 900 && group !== 0 && serial !== 0, c.id).toBe(true);
      }
    }
  });

  it('labelled phone numbers have 8-15 digits, and NANP ones valid area codes and exchanges', () => {
    for (const c of positives) {
      for (const s of c.spans.filter((x) => x.kind === 'phone')) {
        const digits = c.text.slice(s.start, s.end).replace(/\D/g, '');
        expect(digits.length, c.id).toBeGreaterThanOrEqual(8);
        expect(digits.length, c.id).toBeLessThanOrEqual(15);
        if (!c.text.slice(s.start, s.end).startsWith('+') || digits.startsWith('1')) {
          const nanp = digits.length === 11 ? digits.slice(1) : digits;
          expect(nanp, c.id).toMatch(/^[2-9]\d{2}[2-9]\d{6}$/);
        }
      }
    }
  });

  it('the non-Luhn negatives really fail the Luhn check', () => {
    const cases = negatives.filter((c) => c.category === 'non-luhn-card');
    expect(cases.length).toBeGreaterThan(0);
    for (const c of cases) {
      const digits = /\d[\d -]{11,}\d/.exec(c.text)?.[0].replace(/[ -]/g, '') ?? '';
      expect(luhnSum(digits), c.id).not.toBe(0);
    }
  });
});
