import type { Window } from './window.js';

/** How far back (UTF-16 units) a keyword may sit before the number it qualifies. */
const LOOK_BACK = 48;
/** How many words back (the keyword included). */
const MAX_WORDS = 5;

// Words that say "a phone number follows", in the languages of the Faker locales the corpus covers. Latin and
// Cyrillic/Greek stems must start a word; `tel`, `cell`... must also end one (not "tell", "cellar"); CJK, Thai,
// Hebrew and Arabic words are matched anywhere. Every alternative is a literal, so a test is linear in the
// (bounded) window.
const PHONE_WORDS = new RegExp(
  [
    '(?:^|[^\\p{L}])(?:',
    [
      'phone',
      'telephon',
      'téléphon',
      'telefon',
      'teléfon',
      'telefoon',
      'telepon',
      'cellphone',
      'cellular',
      'cellulare',
      'celular',
      'mobile',
      'mobil',
      'mobiel',
      'zadzwo',
      'komórk',
      'pod numer',
      'móvil',
      'movil',
      'handy',
      'portable',
      'puhelin',
      'fax',
      'call',
      'dial',
      'text me',
      'whatsapp',
      'contact',
      'reach',
      'my number',
      'our number',
      'rufnummer',
      'anruf',
      'appel',
      'llam',
      'chiam',
      'ligue',
      'ligar',
      'numer tel',
      'телефон',
      'тел',
      'моб',
      'τηλ',
      'κινητ',
      'điện thoại',
      'hotline',
    ].join('|'),
    ')|(?:^|[^\\p{L}])(?:tel|tél|tlf|tfn|ph|puh|ring|cell|mob|cep|sms|gsm|hp|text|txt)(?!\\p{L})',
    '|電話|电话|手机|手機|携帯|연락처|전화|휴대폰|핸드폰|โทร|טלפון|נייד|هاتف|جوال|تلفن|फ़ोन|फोन',
  ].join(''),
  'u',
);

const SSN_WORDS = /(?:^|[^\p{L}])(?:ssn|social security|social sec|soc\.? ?sec|ss#|ss ?no)/u;

/**
 * The text a keyword may be found in: up to {@link LOOK_BACK} units and {@link MAX_WORDS} words before `s`,
 * within the same line and sentence, never before the window's start (the end of the previous item) nor before a `]`. Stopping there is what keeps redaction idempotent: on
 * a second pass the previous item is a `[KIND]` placeholder, and the look-back stops right after its `]`,
 * exactly where it stopped on the first pass (and never reads the word "PHONE" in `[PHONE]`).
 */
function before(w: Window, s: number): string {
  let from = s;
  const floor = Math.max(w.lo, s - LOOK_BACK);
  const text = w.text;
  let words = 0;
  while (from > floor) {
    const c = text.charCodeAt(from - 1);
    if (c === 0x5d || c === 0x0a) break;
    // At most MAX_WORDS words back: "call me tomorrow morning at", not "missed call, 2 min ago DHL waybill".
    if (c === 0x20 && from < s && text.charCodeAt(from) !== 0x20 && ++words === MAX_WORDS) break;
    // The end of the previous sentence: `.`, `!` or `?` and a space, except right before the number
    // (`Tel. 0123 456789`).
    if (c === 0x20 && from - 2 >= floor && from < s) {
      const p = text.charCodeAt(from - 2);
      if (p === 0x2e || p === 0x21 || p === 0x3f) break;
    }
    from--;
  }
  return text.slice(from, s).toLowerCase();
}

/** Is there a phone word ("call", "tel", "Handy", "電話"...) shortly before `s`? */
export function phoneContext(w: Window, s: number): boolean {
  return PHONE_WORDS.test(before(w, s));
}

/**
 * The text after `e` a keyword may be found in: the mirror image of {@link before}, stopping at the window's
 * end (the next e-mail address) and at a `[`, so that a second pass, which sees later items as placeholders,
 * never reads more than the first pass did.
 */
function after(w: Window, e: number): string {
  let to = e;
  const ceiling = Math.min(w.hi, e + LOOK_BACK);
  const text = w.text;
  let words = 0;
  while (to < ceiling) {
    const c = text.charCodeAt(to);
    if (c === 0x5b || c === 0x0a) break;
    if ((c === 0x2e || c === 0x21 || c === 0x3f) && text.charCodeAt(to + 1) === 0x20 && to > e) break;
    if (c === 0x20 && to > e && text.charCodeAt(to - 1) !== 0x20 && ++words === MAX_WORDS) break;
    to++;
  }
  return text.slice(e, to).toLowerCase();
}

/** Is there an SSN word ("SSN", "social security"...) shortly before `s` or after `e`? */
export function ssnContext(w: Window, s: number, e: number): boolean {
  return SSN_WORDS.test(before(w, s)) || SSN_WORDS.test(after(w, e));
}
