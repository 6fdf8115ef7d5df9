// Value generators for the labelled corpus (see generate.ts). Labels are right by construction: every value
// is built to satisfy, or to violate, the documented rules (Luhn check digits are computed, invalid SSNs
// break exactly one rule), never by asking the detector.

/** sfc32: a small, fast, seedable PRNG, so the corpus is the same on every machine. */
export class Rng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  constructor(seed: number) {
    this.#a = 0x9e3779b9;
    this.#b = 0x243f6a88;
    this.#c = 0xb7e15162;
    this.#d = seed >>> 0;
    for (let i = 0; i < 16; i++) this.next();
  }

  /** A float in [0, 1). */
  next(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) | 0;
    return (t >>> 0) / 4294967296;
  }

  /** An integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  pick<T>(items: readonly T[]): T {
    const item = items[this.int(0, items.length - 1)];
    if (item === undefined) throw new Error('pick: empty list');
    return item;
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  digits(count: number): string {
    let s = '';
    for (let i = 0; i < count; i++) s += String(this.int(0, 9));
    return s;
  }

  hex(count: number): string {
    let s = '';
    for (let i = 0; i < count; i++) s += '0123456789abcdef'[this.int(0, 15)];
    return s;
  }

  /** Replaces each `d` of `pattern` with a random digit. */
  fill(pattern: string): string {
    return pattern.replace(/d/g, () => String(this.int(0, 9)));
  }
}

/** An independent Luhn implementation (not the engine's), used to build and to double-check labels. */
export function luhnSum(digits: string): number {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10;
}

export function luhnCheckDigit(body: string): string {
  return String((10 - luhnSum(`${body}0`)) % 10);
}

/** A Luhn-valid number of `length` digits starting with `prefix`. */
export function luhnNumber(rng: Rng, prefix: string, length: number): string {
  const body = prefix + rng.digits(length - prefix.length - 1);
  return body + luhnCheckDigit(body);
}

/** A number of `length` digits starting with `prefix` whose check digit is deliberately wrong. */
export function nonLuhnNumber(rng: Rng, prefix: string, length: number): string {
  const body = prefix + rng.digits(length - prefix.length - 1);
  const wrong = (Number(luhnCheckDigit(body)) + rng.int(1, 9)) % 10;
  return body + String(wrong);
}

/** Splits `digits` into groups of the given sizes joined by `sep`. */
export function group(digits: string, sizes: readonly number[], sep: string): string {
  const parts: string[] = [];
  let at = 0;
  for (const size of sizes) {
    parts.push(digits.slice(at, at + size));
    at += size;
  }
  if (at !== digits.length) throw new Error(`group: sizes do not cover ${digits.length} digits`);
  return parts.join(sep);
}

/** A NANP area code or exchange: first digit 2-9, not an N11 service code. */
export function nanpCode(rng: Rng): string {
  for (;;) {
    const code = String(rng.int(2, 9)) + rng.digits(2);
    if (code.slice(1) !== '11') return code;
  }
}

/** Card brands: IIN prefixes and lengths (ISO/IEC 7812, issuer documentation). */
export const CARD_BRANDS: ReadonlyArray<{
  name: string;
  prefixes: readonly string[];
  lengths: readonly number[];
}> = [
  { name: 'visa', prefixes: ['4'], lengths: [16, 16, 16, 13, 19] },
  { name: 'mastercard', prefixes: ['51', '52', '53', '54', '55', '2221', '2500', '2720'], lengths: [16] },
  { name: 'amex', prefixes: ['34', '37'], lengths: [15] },
  { name: 'discover', prefixes: ['6011', '65', '644'], lengths: [16] },
  { name: 'diners', prefixes: ['36', '300', '305'], lengths: [14] },
  { name: 'jcb', prefixes: ['3528', '3566', '3589'], lengths: [16] },
  { name: 'unionpay', prefixes: ['62'], lengths: [16, 17, 18, 19] },
];

/** Conventional groupings by length (first group always 4). */
export const CARD_GROUPS: Readonly<Record<number, readonly (readonly number[])[]>> = {
  13: [[4, 4, 5]],
  14: [[4, 6, 4]],
  15: [[4, 6, 5]],
  16: [[4, 4, 4, 4]],
  17: [[4, 4, 4, 5]],
  18: [[4, 4, 4, 6]],
  19: [[4, 4, 4, 4, 3]],
};

/** Country codes with national number layouts (`d` = digit), all giving 8-15 digits in total. */
export const INTL_LAYOUTS: ReadonlyArray<readonly [string, string]> = [
  ['44', ' 20 dddd dddd'],
  ['44', ' 7ddd dddddd'],
  ['44', '7ddddddddd'],
  ['44', ' (0)20 dddd dddd'],
  ['44', ' (0) 161 ddd dddd'],
  ['33', ' 1 dd dd dd dd'],
  ['33', ' 6 dd dd dd dd'],
  ['33', '.6.dd.dd.dd.dd'],
  ['33', '6dddddddd'],
  ['49', ' 30 dddddddd'],
  ['49', '-30-ddddddd'],
  ['49', ' 151 dddddddd'],
  ['91', ' 9dddd ddddd'],
  ['91', '-9dddd-ddddd'],
  ['61', ' 2 dddd dddd'],
  ['61', ' 4dd ddd ddd'],
  ['81', ' 3-dddd-dddd'],
  ['81', ' 90 dddd dddd'],
  ['86', ' 13d dddd dddd'],
  ['86', '13ddddddddd'],
  ['55', ' 11 9dddd-dddd'],
  ['34', ' 6dd dd dd dd'],
  ['39', ' 06 dddd dddd'],
  ['31', ' 6 dddddddd'],
  ['353', ' 1 ddd dddd'],
  ['353', ' 8d ddd dddd'],
  ['971', ' 5d ddd dddd'],
  ['234', ' 80d ddd dddd'],
  ['27', ' 8d ddd dddd'],
  ['52', ' 55 dddd dddd'],
  ['65', ' 6ddd dddd'],
  ['65', ' 9ddd dddd'],
  ['7', ' 9dd ddd-dd-dd'],
  ['46', ' 70-ddd dd dd'],
  ['41', ' 7d ddd dd dd'],
  ['48', ' 5dd ddd ddd'],
  ['82', ' 10-dddd-dddd'],
  ['90', ' 5dd ddd dd dd'],
  ['20', ' 10 dddd dddd'],
  ['62', ' 812-dddd-dddd'],
  ['372', ' 5ddd ddd'],
  ['354', ' ddd dddd'],
];

/** US layouts of one NANP number; `n` = area code, `x` = exchange, `l` = line number. */
export const US_LAYOUTS: ReadonlyArray<readonly [string, (n: string, x: string, l: string) => string]> = [
  ['paren-space', (n, x, l) => `(${n}) ${x}-${l}`],
  ['paren-tight', (n, x, l) => `(${n})${x}-${l}`],
  ['paren-dash', (n, x, l) => `(${n})-${x}-${l}`],
  ['paren-dot', (n, x, l) => `(${n}) ${x}.${l}`],
  ['paren-spaces', (n, x, l) => `(${n}) ${x} ${l}`],
  ['dashes', (n, x, l) => `${n}-${x}-${l}`],
  ['dots', (n, x, l) => `${n}.${x}.${l}`],
  ['spaces', (n, x, l) => `${n} ${x} ${l}`],
  ['plus1-spaces', (n, x, l) => `+1 ${n} ${x} ${l}`],
  ['plus1-dashes', (n, x, l) => `+1-${n}-${x}-${l}`],
  ['plus1-paren', (n, x, l) => `+1 (${n}) ${x}-${l}`],
  ['plus1-bare', (n, x, l) => `+1${n}${x}${l}`],
  ['plus1-mixed', (n, x, l) => `+1 ${n}-${x}-${l}`],
  ['trunk-dashes', (n, x, l) => `1-${n}-${x}-${l}`],
  ['trunk-spaces', (n, x, l) => `1 ${n} ${x} ${l}`],
  ['trunk-dots', (n, x, l) => `1.${n}.${x}.${l}`],
  ['trunk-paren', (n, x, l) => `1 (${n}) ${x}-${l}`],
  ['trunk-paren-tight', (n, x, l) => `1(${n})${x}-${l}`],
];

const FIRST = [
  'jane',
  'john',
  'maria',
  'wei',
  'aisha',
  'carlos',
  'olga',
  'kenji',
  'fatima',
  'liam',
  'noah',
  'emma',
];
const LAST = [
  'doe',
  'smith',
  'garcia',
  'nguyen',
  'okafor',
  'muller',
  'rossi',
  'kowalski',
  'tanaka',
  'obrien',
];
const DOMAINS = [
  'example.com',
  'example.org',
  'acme.io',
  'mail.contoso.co.uk',
  'northwind-traders.com',
  'globex.net',
  'initech.org',
  'umbrella.de',
  'hooli.xyz',
  'piedpiper.ai',
  'cs.stanford.edu',
  'wayne.enterprises',
  'post.example.museum',
  'x1.example.fr',
];

export function emailAddress(rng: Rng): { value: string; format: string } {
  const f = rng.pick(FIRST);
  const l = rng.pick(LAST);
  const domain = rng.pick(DOMAINS);
  const forms: ReadonlyArray<readonly [string, string]> = [
    ['first.last', `${f}.${l}`],
    ['firstlast', `${f}${l}`],
    ['initial-last', `${f[0]}${l}`],
    ['first_last', `${f}_${l}`],
    ['plus-tag', `${f}+${rng.pick(['news', 'billing', 'test', 'work'])}`],
    ['digits', `${f}${rng.int(1, 2025)}`],
    ['dashes', `${f}-${l}`],
    ['upper', `${f}.${l}`.toUpperCase()],
    ['role', rng.pick(['support', 'billing', 'admin', 'hr', 'no-reply', 'info'])],
    ['apostrophe', `${f}.o'${l}`],
    ['numeric-local', rng.digits(rng.int(4, 8))],
    ['percent', `${f}%${l}`],
  ];
  const [format, local] = rng.pick(forms);
  return { value: `${local}@${domain}`, format };
}

/** A possible SSN: area 001-899 except 666, group 01-99, serial 0001-9999. */
export function ssn(rng: Rng): { value: string; format: string } {
  let area = rng.int(1, 899);
  if (area === 666) area = 667;
  const parts = [String(area).padStart(3, '0'), String(rng.int(1, 99)).padStart(2, '0')];
  const serial = String(rng.int(1, 9999)).padStart(4, '0');
  const sep = rng.chance(0.75) ? '-' : ' ';
  return { value: [...parts, serial].join(sep), format: sep === '-' ? 'dashes' : 'spaces' };
}

export function usPhone(rng: Rng): { value: string; format: string } {
  const [format, layout] = rng.pick(US_LAYOUTS);
  return { value: layout(nanpCode(rng), nanpCode(rng), rng.digits(4)), format: `us/${format}` };
}

export function intlPhone(rng: Rng): { value: string; format: string } {
  const [cc, layout] = rng.pick(INTL_LAYOUTS);
  const value = `+${cc}${rng.fill(layout)}`;
  const digits = value.replace(/\D/g, '').length;
  if (digits < 8 || digits > 15) throw new Error(`layout +${cc}${layout} gives ${digits} digits`);
  return { value, format: `e164/+${cc}` };
}

export function card(rng: Rng): { value: string; format: string } {
  const brand = rng.pick(CARD_BRANDS);
  const length = rng.pick(brand.lengths);
  const digits = luhnNumber(rng, rng.pick(brand.prefixes), length);
  const groups = rng.pick(CARD_GROUPS[length] ?? [[length]]);
  const style = rng.pick(['contiguous', 'spaces', 'spaces', 'dashes'] as const);
  const value = style === 'contiguous' ? digits : group(digits, groups, style === 'spaces' ? ' ' : '-');
  return { value, format: `${brand.name}-${length}/${style}` };
}
