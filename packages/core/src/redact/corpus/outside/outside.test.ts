import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { getCountries } from 'libphonenumber-js';
import { describe, expect, it } from 'vitest';
import { detect } from '../../detect.js';
import { PII_KINDS } from '../../kinds.js';
import { withPlaceholders } from '../score.js';
import { luhnSum } from '../values.js';
import {
  CARD_ISSUERS,
  EXAMPLE_FORMS,
  FAKER_LOCALES,
  generateOutsideCorpus,
  type OutsideCase,
  PHONE_STYLES,
  toJsonl,
} from './generate.js';
import { falsePositives, misses, parseOutside, scoreByLocale } from './score.js';
import { NEGATIVE_CLASSES } from './templates.js';

// Regenerate after changing the generator or upgrading Faker / libphonenumber-js: npm run corpus:outside
const file = (name: string) => fileURLToPath(new URL(name, import.meta.url));
const generated = generateOutsideCorpus();
const committed = {
  faker: parseOutside(readFileSync(file('faker.jsonl'), 'utf8')),
  libphonenumber: parseOutside(readFileSync(file('libphonenumber.jsonl'), 'utf8')),
};
const all: OutsideCase[] = [...committed.faker, ...committed.libphonenumber];

describe('outside corpus (Faker and libphonenumber-js values)', () => {
  it('the committed JSONL files are exactly what the seeded generator produces', () => {
    if (process.env.RAMPART_WRITE_CORPUS === '1') {
      writeFileSync(file('faker.jsonl'), toJsonl(generated.faker));
      writeFileSync(file('libphonenumber.jsonl'), toJsonl(generated.libphonenumber));
    }
    expect(readFileSync(file('faker.jsonl'), 'utf8')).toBe(toJsonl(generated.faker));
    expect(readFileSync(file('libphonenumber.jsonl'), 'utf8')).toBe(toJsonl(generated.libphonenumber));
  });

  it('covers 20+ Faker locales, every phone style, card issuer and negative class, every region', () => {
    const locales = new Set(committed.faker.map((c) => c.locale));
    expect(locales.size).toBeGreaterThanOrEqual(20);
    expect([...locales].sort()).toEqual(Object.keys(FAKER_LOCALES).sort());
    const categories = new Set(all.map((c) => c.category));
    for (const style of PHONE_STYLES) expect(categories, style).toContain(`phone/${style}`);
    for (const issuer of CARD_ISSUERS)
      expect(
        [...categories].some((c) => c.startsWith(`credit_card/${issuer}/`)),
        issuer,
      ).toBe(true);
    for (const cls of NEGATIVE_CLASSES) expect(categories, cls).toContain(`negative/${cls}`);
    for (const form of EXAMPLE_FORMS) expect(categories, form).toContain(`phone/example-${form}`);
    expect(new Set(committed.libphonenumber.map((c) => c.locale))).toEqual(new Set(getCountries()));
    for (const kind of PII_KINDS)
      expect(all.flatMap((c) => c.spans).filter((s) => s.kind === kind).length, kind).toBeGreaterThanOrEqual(
        150,
      );
  });

  it('each expected redaction is the text with its labelled spans replaced; negatives have none', () => {
    for (const c of all) expect(c.redacted, c.id).toBe(withPlaceholders(c));
    for (const c of all.filter((x) => x.category.startsWith('negative/'))) expect(c.spans, c.id).toEqual([]);
    const ids = all.map((c) => c.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('labelled cards pass the Luhn check with 12-19 digits; SSNs follow the SSA rules', () => {
    for (const c of all) {
      for (const s of c.spans) {
        const value = c.text.slice(s.start, s.end);
        if (s.kind === 'credit_card') {
          const digits = value.replace(/[ -]/g, '');
          expect(digits, c.id).toMatch(/^\d{12,19}$/);
          expect(luhnSum(digits), c.id).toBe(0);
        }
        if (s.kind === 'ssn') {
          const m = /^(\d{3})[- ]?(\d{2})[- ]?(\d{4})$/.exec(value);
          expect(m, c.id).not.toBeNull();
          const [area, group, serial] = [Number(m?.[1]), Number(m?.[2]), Number(m?.[3])];
          expect(area !== 0 && area !== 666 && area < 900 && group !== 0 && serial !== 0, c.id).toBe(true);
        }
      }
    }
  });

  it('the digit-only look-alike IDs fail the Luhn check', () => {
    const ids = committed.faker.filter((c) => c.category === 'negative/id');
    expect(ids.length).toBeGreaterThan(0);
    for (const c of ids) {
      const digits = /\d[\d ]{7,}\d/.exec(c.text)?.[0].replaceAll(' ', '') ?? '';
      expect(digits.length, c.id).toBeGreaterThanOrEqual(9);
      expect(luhnSum(digits), c.id).not.toBe(0);
    }
  });
});

// Issue 22's targets. Span-exact scoring (see ./score.ts), over the Faker and libphonenumber-js cases together.
describe('detection on the outside corpus', () => {
  const { byLocale, all: total } = scoreByLocale(all, (t) => detect(t));

  it('phone recall >= 0.90; card, e-mail and SSN recall >= 0.99; precision >= 0.98 overall', () => {
    const row = (name: string, s: (typeof total)['score']['byKind'][number]) =>
      `${name.padEnd(16)} ${s.kind.padEnd(12)} P ${s.precision.toFixed(3)} R ${s.recall.toFixed(3)} ` +
      `(tp ${s.truePositives}, fp ${s.falsePositives}, fn ${s.falseNegatives})`;
    const lines = [...total.score.byKind.map((s) => row('all', s)), row('all', total.score.overall)];
    for (const l of byLocale) lines.push(row(l.locale, l.score.overall));
    console.log(lines.join('\n'));
    const missed = misses(all, (t) => detect(t), 'phone').slice(0, 10);
    const wrong = falsePositives(all, (t) => detect(t)).slice(0, 10);
    for (const m of missed) console.log('missed phone', m.locale, m.category, JSON.stringify(m.value));
    for (const w of wrong)
      console.log('false positive', w.locale, w.category, w.kind, JSON.stringify(w.value));

    const kind = (k: string) => total.score.byKind.find((s) => s.kind === k);
    expect(kind('phone')?.recall, 'phone recall').toBeGreaterThanOrEqual(0.9);
    expect(kind('credit_card')?.recall, 'card recall').toBeGreaterThanOrEqual(0.99);
    expect(kind('email')?.recall, 'email recall').toBeGreaterThanOrEqual(0.99);
    expect(kind('ssn')?.recall, 'ssn recall').toBeGreaterThanOrEqual(0.99);
    expect(total.score.overall.precision, 'precision').toBeGreaterThanOrEqual(0.98);
  });
});
