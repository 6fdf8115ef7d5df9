// The outside corpus (issue 22): labelled sentences whose values come from generators nobody on this team
// wrote: @faker-js/faker in many locales (phones in every style it has, cards for every issuer it knows,
// e-mails, and the look-alike negatives: IBANs, dates, versions, IPv4 addresses, prices, IDs...) and
// libphonenumber-js's example number for every region in its metadata. Only the sentence frames
// (templates.ts), the choice of surface forms and the SSN area/group/serial rules are ours.
//
// Deterministic: each locale's Faker is seeded from CORPUS_SEED and the locale name, so the committed files
// (faker.jsonl, libphonenumber.jsonl) are exactly `toJsonl(generateOutsideCorpus().faker)` and so on, which
// outside.test.ts checks. Regenerate with `npm run corpus:outside` (that test with RAMPART_WRITE_CORPUS=1)
// after changing this file or upgrading @faker-js/faker or libphonenumber-js. Pure: no I/O here.
import { allFakers, allLocales, type Faker } from '@faker-js/faker';
import { type CountryCode, getCountries, getExampleNumber } from 'libphonenumber-js';
import examples from 'libphonenumber-js/examples.mobile.json';
import { type PiiKind, type PiiSpan, REPLACEMENTS } from '../../kinds.js';
import type { CorpusCase } from '../score.js';
import { luhnSum, Rng } from '../values.js';
import { FRAMES, type Lang, NEGATIVE_CLASSES, type NegativeClass, SSN_FRAMES } from './templates.js';

export const OUTSIDE_SEED = 0x0075_1de5;

/** One labelled sentence. `locale` is a Faker locale, or an ISO region for libphonenumber-js examples. */
export interface OutsideCase extends CorpusCase {
  readonly source: 'faker' | 'libphonenumber';
  readonly locale: string;
}

/** The Faker locales covered, each with the language of its sentence frames and its phone region. */
export const FAKER_LOCALES: Readonly<Record<string, { readonly lang: Lang; readonly region: CountryCode }>> =
  {
    en_US: { lang: 'en', region: 'US' },
    en_GB: { lang: 'en', region: 'GB' },
    en_AU: { lang: 'en', region: 'AU' },
    en_CA: { lang: 'en', region: 'CA' },
    en_IN: { lang: 'en', region: 'IN' },
    en_IE: { lang: 'en', region: 'IE' },
    en_ZA: { lang: 'en', region: 'ZA' },
    de: { lang: 'de', region: 'DE' },
    de_AT: { lang: 'de', region: 'AT' },
    de_CH: { lang: 'de', region: 'CH' },
    fr: { lang: 'fr', region: 'FR' },
    fr_CA: { lang: 'fr', region: 'CA' },
    fr_CH: { lang: 'fr', region: 'CH' },
    fr_BE: { lang: 'fr', region: 'BE' },
    es: { lang: 'es', region: 'ES' },
    es_MX: { lang: 'es', region: 'MX' },
    it: { lang: 'it', region: 'IT' },
    nl: { lang: 'nl', region: 'NL' },
    nl_BE: { lang: 'nl', region: 'BE' },
    pt_BR: { lang: 'pt', region: 'BR' },
    pt_PT: { lang: 'pt', region: 'PT' },
    pl: { lang: 'pl', region: 'PL' },
    sv: { lang: 'sv', region: 'SE' },
    nb_NO: { lang: 'nb', region: 'NO' },
    fi: { lang: 'fi', region: 'FI' },
    da: { lang: 'da', region: 'DK' },
    ja: { lang: 'ja', region: 'JP' },
    ko: { lang: 'ko', region: 'KR' },
    zh_CN: { lang: 'zh', region: 'CN' },
  };

/** Every style `faker.phone.number({ style })` has in Faker 10. */
export const PHONE_STYLES = ['human', 'national', 'international', 'mobile'] as const;

/**
 * Card issuers. The first seven are the issuers Faker's locale data knows (`unionpay` from zh_CN, the rest
 * from en). Faker has no Maestro data, so Maestro numbers are Faker's `creditCardNumber(format)` on formats
 * we wrote from the published IIN ranges (50, 56-69) and lengths (12-19).
 */
export const CARD_ISSUERS = [
  'visa',
  'mastercard',
  'american_express',
  'discover',
  'jcb',
  'diners_club',
  'unionpay',
  'maestro',
] as const;
type Issuer = (typeof CARD_ISSUERS)[number];

const MAESTRO_FORMATS = [
  '5018#######L',
  '6304#######L',
  '6759########L',
  '5020-####-####-##L',
  '5038-####-####-###L',
  '6761-####-####-####-#L',
  '6763-####-####-####-##L',
  '56##-####-####-###L',
];

/** Per Faker locale (en_US gets more, being the locale of the SSNs and of most chat traffic). */
const COUNTS = {
  phonesPerStyle: 8,
  emails: 8,
  cardsPerIssuer: 2,
  multi: 3,
  negativesPerClass: 4,
  usFactor: 4,
  ssns: 160,
} as const;

/** FNV-1a, to derive one seed per locale (adding a locale changes no other locale's sentences). */
function seedFor(seed: number, name: string): number {
  let h = 0x811c9dc5 ^ seed;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

interface Value {
  readonly value: string;
  /** `null` for a look-alike that is not personal data. */
  readonly kind: PiiKind | null;
  readonly category: string;
}

interface Filled {
  text: string;
  spans: PiiSpan[];
  redacted: string;
  categories: string[];
}

/** Fills a frame's `{slot}`s left to right, recording where each labelled value lands. */
function fill(frame: string, value: (slot: string) => Value): Filled {
  const out: Filled = { text: '', spans: [], redacted: '', categories: [] };
  for (const piece of frame.split(/(\{[a-z0-9]+\})/)) {
    const slot = /^\{([a-z0-9]+)\}$/.exec(piece)?.[1];
    if (slot === undefined) {
      out.text += piece;
      out.redacted += piece;
      continue;
    }
    const v = value(slot);
    out.categories.push(v.category);
    if (v.kind !== null) {
      out.spans.push({ kind: v.kind, start: out.text.length, end: out.text.length + v.value.length });
      out.redacted += REPLACEMENTS[v.kind];
    } else out.redacted += v.value;
    out.text += v.value;
  }
  return out;
}

// ---- Values from Faker ------------------------------------------------------------------------------------

function phone(f: Faker, style: (typeof PHONE_STYLES)[number]): Value {
  return { value: f.phone.number({ style }), kind: 'phone', category: `phone/${style}` };
}

function email(f: Faker): Value {
  return { value: f.internet.email(), kind: 'email', category: 'email' };
}

/** Card formats of an issuer, from the locale's data if it has the issuer, else from the locale that does. */
function cardFormats(f: Faker, issuer: Issuer): { known: boolean; formats: readonly string[] } {
  if (issuer === 'maestro') return { known: false, formats: MAESTRO_FORMATS };
  const own = (f.rawDefinitions.finance?.credit_card as Record<string, string[]> | undefined)?.[issuer];
  if (own !== undefined) return { known: true, formats: own };
  for (const locale of ['en', 'zh_CN'] as const) {
    const cc = allLocales[locale].finance?.credit_card as Record<string, string[]> | undefined;
    const formats = cc?.[issuer];
    if (formats !== undefined) return { known: false, formats };
  }
  throw new Error(`no Faker card data for ${issuer}`);
}

/** Groups of four digits, a lone last digit joining the group before it (13 digits: 4-4-5). */
function groupsOfFour(digits: string): string[] {
  const groups = digits.match(/.{1,4}/g) ?? [];
  const last = groups.at(-1);
  if (groups.length > 1 && last !== undefined && last.length === 1) {
    groups.pop();
    groups[groups.length - 1] += last;
  }
  return groups;
}

/** A card number as Faker writes it, or the same digits bare or in groups separated by spaces. */
function card(f: Faker, issuer: Issuer): Value {
  const { known, formats } = cardFormats(f, issuer);
  const raw = known
    ? f.finance.creditCardNumber(issuer)
    : f.finance.creditCardNumber(f.helpers.arrayElement(formats));
  const form = f.helpers.weightedArrayElement([
    { weight: 2, value: 'faker' },
    { weight: 1, value: 'digits' },
    { weight: 1, value: 'spaced' },
  ] as const);
  const digits = raw.replace(/\D/g, '');
  let value = raw;
  if (form === 'digits') value = digits;
  else if (form === 'spaced')
    value = raw.includes('-') ? raw.replaceAll('-', ' ') : groupsOfFour(digits).join(' ');
  return { value, kind: 'credit_card', category: `credit_card/${issuer}/${form}` };
}

/**
 * Faker 10 has no SSN helper: the numbers come from Faker and the SSA's rules are applied here (area
 * 001-899 except 666, group 01-99, serial 0001-9999). Written with dashes, spaces, or bare next to an SSN
 * word (every SSN frame has one).
 */
function ssn(f: Faker): Value {
  let area = f.number.int({ min: 1, max: 899 });
  while (area === 666) area = f.number.int({ min: 1, max: 899 });
  const group = f.number.int({ min: 1, max: 99 });
  const serial = f.number.int({ min: 1, max: 9999 });
  const parts = [
    String(area).padStart(3, '0'),
    String(group).padStart(2, '0'),
    String(serial).padStart(4, '0'),
  ];
  const form = f.helpers.weightedArrayElement([
    { weight: 6, value: 'dashed' },
    { weight: 1, value: 'spaced' },
    { weight: 3, value: 'bare' },
  ] as const);
  const sep = form === 'dashed' ? '-' : form === 'spaced' ? ' ' : '';
  return { value: parts.join(sep), kind: 'ssn', category: `ssn/${form}` };
}

// ---- Look-alike negatives from Faker ---------------------------------------------------------------------

/** Digits that fail the Luhn check (the last digit is moved off the check digit if needed). */
function nonLuhn(f: Faker, length: number): string {
  const digits = f.string.numeric({ length, allowLeadingZeros: false });
  if (luhnSum(digits) !== 0) return digits;
  const last = Number(digits[digits.length - 1]);
  return digits.slice(0, -1) + String((last + 1) % 10);
}

const IBAN_COUNTRIES: Readonly<Record<string, string>> = {
  en_GB: 'GB',
  en_IE: 'IE',
  de: 'DE',
  de_AT: 'AT',
  de_CH: 'CH',
  fr: 'FR',
  fr_CH: 'CH',
  fr_BE: 'BE',
  es: 'ES',
  it: 'IT',
  nl: 'NL',
  nl_BE: 'BE',
  pt_BR: 'BR',
  pt_PT: 'PT',
  pl: 'PL',
  sv: 'SE',
  nb_NO: 'NO',
  fi: 'FI',
  da: 'DK',
};

const CURRENCY: Readonly<Record<Lang, { symbol: string; before: boolean; group: string; decimal: string }>> =
  {
    en: { symbol: '$', before: true, group: ',', decimal: '.' },
    de: { symbol: '€', before: false, group: '.', decimal: ',' },
    fr: { symbol: '€', before: false, group: ' ', decimal: ',' },
    es: { symbol: '€', before: false, group: '.', decimal: ',' },
    it: { symbol: '€', before: false, group: '.', decimal: ',' },
    nl: { symbol: '€', before: true, group: '.', decimal: ',' },
    pt: { symbol: 'R$', before: true, group: '.', decimal: ',' },
    pl: { symbol: 'zł', before: false, group: ' ', decimal: ',' },
    sv: { symbol: 'kr', before: false, group: ' ', decimal: ',' },
    nb: { symbol: 'kr', before: false, group: ' ', decimal: ',' },
    fi: { symbol: '€', before: false, group: ' ', decimal: ',' },
    da: { symbol: 'kr.', before: false, group: '.', decimal: ',' },
    ja: { symbol: '¥', before: true, group: ',', decimal: '.' },
    ko: { symbol: '₩', before: true, group: ',', decimal: '.' },
    zh: { symbol: '¥', before: true, group: ',', decimal: '.' },
  };

function price(f: Faker, lang: Lang): string {
  const c = CURRENCY[lang];
  const [whole = '0', cents = '00'] = f.finance.amount({ min: 0.5, max: 2_500_000, dec: 2 }).split('.');
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, c.group);
  const code = f.datatype.boolean({ probability: 0.2 });
  const amount = `${grouped}${c.decimal}${cents}`;
  if (code) return `${f.finance.currencyCode()} ${amount}`;
  return c.before ? `${c.symbol}${amount}` : `${amount} ${c.symbol}`;
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

function negative(f: Faker, locale: string, lang: Lang, cls: NegativeClass): Value {
  const category = `negative/${cls}`;
  const v = (value: string): Value => ({ value, kind: null, category });
  switch (cls) {
    case 'order':
      return v(
        f.helpers.arrayElement([
          () => `#${f.string.numeric({ length: { min: 5, max: 8 }, allowLeadingZeros: false })}`,
          () => `${f.string.alpha({ length: 3, casing: 'upper' })}-${f.string.numeric(6)}`,
          () => f.string.numeric({ length: { min: 6, max: 8 }, allowLeadingZeros: false }),
          () => f.string.alphanumeric({ length: 10, casing: 'upper' }),
        ])(),
      );
    case 'iban': {
      const countryCode = IBAN_COUNTRIES[locale];
      const formatted = f.datatype.boolean();
      return v(
        countryCode === undefined
          ? f.finance.iban({ formatted })
          : f.finance.iban({ formatted, countryCode }),
      );
    }
    case 'datetime': {
      const d = f.date.between({ from: '2000-01-01T00:00:00Z', to: '2035-12-31T23:59:59Z' });
      const iso = d.toISOString();
      const time = `${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}`;
      return v(
        f.helpers.arrayElement([
          iso.slice(0, 10),
          iso,
          `${iso.slice(0, 10)} ${time.slice(0, 5)}`,
          `${iso.slice(0, 19)}+${pad2(f.number.int({ min: 0, max: 12 }))}:00`,
          time,
        ]),
      );
    }
    case 'version':
      return v(
        f.helpers.arrayElement([
          () => f.system.semver(),
          () => `v${f.system.semver()}`,
          () =>
            `${f.number.int({ min: 1, max: 20 })}.${f.number.int(9)}.${f.number.int({ min: 1000, max: 30000 })}.${f.number.int(9999)}`,
        ])(),
      );
    case 'ipv4':
      return v(
        f.datatype.boolean({ probability: 0.25 })
          ? `${f.internet.ipv4()}:${f.internet.port()}`
          : f.internet.ipv4(),
      );
    case 'tracking':
      return v(
        f.helpers.arrayElement([
          () => `1Z${f.string.alphanumeric({ length: 16, casing: 'upper' })}`,
          () => `9400${f.string.numeric(18)}`,
          () => `9400 ${(f.string.numeric(18).match(/.{1,4}/g) ?? []).join(' ')}`,
          () => nonLuhn(f, 12),
          () => nonLuhn(f, 10),
          () => `${f.string.alpha({ length: 2, casing: 'upper' })}${f.string.numeric(9)}GB`,
        ])(),
      );
    case 'price':
      return v(price(f, lang));
    case 'id': {
      const length = f.number.int({ min: 9, max: 19 });
      const digits = nonLuhn(f, length);
      const grouped = length >= 12 && f.datatype.boolean({ probability: 0.25 });
      return v(grouped ? groupsOfFour(digits).join(' ') : digits);
    }
    case 'imei':
      return v(f.phone.imei());
  }
}

// ---- The corpus -----------------------------------------------------------------------------------------

function caseOf(
  source: OutsideCase['source'],
  locale: string,
  id: string,
  category: string,
  filled: Filled,
): OutsideCase {
  return { id, source, locale, category, text: filled.text, spans: filled.spans, redacted: filled.redacted };
}

function fakerCases(seed: number, locale: string, lang: Lang): OutsideCase[] {
  const f = (allFakers as Record<string, Faker>)[locale];
  if (f === undefined) throw new Error(`Faker has no locale ${locale}`);
  f.seed(seedFor(seed, locale));
  const frames = FRAMES[lang];
  const factor = locale === 'en_US' ? COUNTS.usFactor : 1;
  const out: OutsideCase[] = [];
  const push = (category: string, filled: Filled) =>
    out.push(
      caseOf('faker', locale, `${locale}-${String(out.length + 1).padStart(4, '0')}`, category, filled),
    );
  const frame = (list: readonly string[]) => f.helpers.arrayElement(list);

  for (const style of PHONE_STYLES) {
    for (let i = 0; i < COUNTS.phonesPerStyle * factor; i++)
      push(
        `phone/${style}`,
        fill(frame(frames.phone), () => phone(f, style)),
      );
  }
  for (let i = 0; i < COUNTS.emails * factor; i++)
    push(
      'email',
      fill(frame(frames.email), () => email(f)),
    );
  for (const issuer of CARD_ISSUERS) {
    for (let i = 0; i < COUNTS.cardsPerIssuer * factor; i++) {
      const filled = fill(frame(frames.card), () => card(f, issuer));
      push(filled.categories[0] ?? 'credit_card', filled);
    }
  }
  if (locale === 'en_US') {
    for (let i = 0; i < COUNTS.ssns; i++) {
      const filled = fill(frame(SSN_FRAMES), () => ssn(f));
      push(filled.categories[0] ?? 'ssn', filled);
    }
  }
  for (let i = 0; i < COUNTS.multi * factor; i++) {
    const filled = fill(frame(frames.multi), (slot) => {
      if (slot === 'email') return email(f);
      if (slot === 'card') return card(f, f.helpers.arrayElement(CARD_ISSUERS));
      return phone(f, f.helpers.arrayElement(PHONE_STYLES));
    });
    push('multi', filled);
  }
  for (const cls of NEGATIVE_CLASSES) {
    for (let i = 0; i < COUNTS.negativesPerClass * factor; i++)
      push(
        `negative/${cls}`,
        fill(frame(frames.negative[cls]), () => negative(f, locale, lang, cls)),
      );
  }
  return out;
}

/** The language of the frames around a region's example number (English where we have no frames). */
const REGION_LANG: Readonly<Record<string, Lang>> = {
  DE: 'de',
  AT: 'de',
  CH: 'de',
  LI: 'de',
  FR: 'fr',
  BE: 'fr',
  LU: 'fr',
  MC: 'fr',
  ES: 'es',
  MX: 'es',
  AR: 'es',
  CO: 'es',
  CL: 'es',
  PE: 'es',
  IT: 'it',
  SM: 'it',
  VA: 'it',
  NL: 'nl',
  PT: 'pt',
  BR: 'pt',
  PL: 'pl',
  SE: 'sv',
  NO: 'nb',
  FI: 'fi',
  DK: 'da',
  JP: 'ja',
  KR: 'ko',
  CN: 'zh',
};

/** Forms of a libphonenumber-js example number: its national, international and E.164 formats. */
export const EXAMPLE_FORMS = ['national', 'international', 'e164'] as const;

function libphonenumberCases(seed: number): OutsideCase[] {
  const rng = new Rng(seedFor(seed, 'libphonenumber'));
  const out: OutsideCase[] = [];
  for (const region of getCountries() as CountryCode[]) {
    const example = getExampleNumber(region, examples);
    if (example === undefined) continue;
    const frames = FRAMES[REGION_LANG[region] ?? 'en'].phone;
    for (const form of EXAMPLE_FORMS) {
      const value =
        form === 'national'
          ? example.formatNational()
          : form === 'international'
            ? example.formatInternational()
            : example.number;
      const category = `phone/example-${form}`;
      const filled = fill(rng.pick(frames), () => ({ value, kind: 'phone', category }));
      out.push(caseOf('libphonenumber', region, `lpn-${region}-${form}`, category, filled));
    }
  }
  return out;
}

/** The whole outside corpus, deterministic for a given seed and the installed Faker and libphonenumber-js. */
export function generateOutsideCorpus(seed = OUTSIDE_SEED): {
  faker: OutsideCase[];
  libphonenumber: OutsideCase[];
} {
  const faker = Object.entries(FAKER_LOCALES).flatMap(([locale, { lang }]) => fakerCases(seed, locale, lang));
  return { faker, libphonenumber: libphonenumberCases(seed) };
}

/** One case per line, keys in a fixed order. */
export function toJsonl(cases: readonly OutsideCase[]): string {
  return cases
    .map((c) =>
      JSON.stringify({
        id: c.id,
        source: c.source,
        locale: c.locale,
        category: c.category,
        text: c.text,
        spans: c.spans.map((s) => ({ kind: s.kind, start: s.start, end: s.end })),
        redacted: c.redacted,
      }),
    )
    .join('\n')
    .concat('\n');
}
