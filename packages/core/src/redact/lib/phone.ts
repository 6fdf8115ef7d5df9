import {
  COLON,
  COMMA,
  DASH,
  DIGIT_0,
  DIGIT_1,
  DOT,
  HASH,
  isDigit,
  isWordChar,
  LPAREN,
  PLUS,
  RPAREN,
  SLASH,
  SPACE,
} from './chars.js';
import { phoneContext } from './context.js';
import { validNational, validWithoutTrunk } from './national.js';
import type { Window } from './window.js';

const E164_MIN_DIGITS = 8;
const E164_MAX_DIGITS = 15;

function isSeparator(c: number): boolean {
  return c === DASH || c === DOT || c === SPACE;
}

/** NANP area codes and exchanges start with 2-9 and are never N11 service codes (211, 411, 911...). */
function nanpGroupOk(w: Window, k: number): boolean {
  const first = w.at(k);
  return first >= 0x32 && !(w.at(k + 1) === DIGIT_1 && w.at(k + 2) === DIGIT_1);
}

/**
 * The ten NANP digits from `p`: `(NPA) NXX-XXXX` (after `)`: a space, a dash or nothing), or `NPA-NXX-XXXX`
 * with one consistent separator (`-`, `.` or space), or, when `bare` (after `+1` or `001`), ten contiguous
 * digits, and then any exchange.
 *
 * @returns the end index, or -1.
 */
function matchNanp(w: Window, p: number, bare: boolean): number {
  let npa: number;
  let nxx: number;
  let q: number;
  if (w.at(p) === LPAREN) {
    if (!w.digitsAt(p + 1, 3) || w.at(p + 4) !== RPAREN) return -1;
    npa = p + 1;
    q = p + 5;
    const c = w.at(q);
    if (c === SPACE || c === DASH) q++;
    if (!w.digitsAt(q, 3) || !isSeparator(w.at(q + 3))) return -1;
    nxx = q;
    q += 4;
  } else {
    if (!w.digitsAt(p, 3)) return -1;
    npa = p;
    const sep = w.at(p + 3);
    if (isSeparator(sep)) {
      // One separator twice, or a space then a dash (`514 907-6015`, the usual Canadian layout).
      const second = w.at(p + 7);
      if (!w.digitsAt(p + 4, 3) || (second !== sep && !(sep === SPACE && second === DASH))) return -1;
      nxx = p + 4;
      q = p + 8;
    } else if (bare && w.digitsAt(p + 3, 3)) {
      nxx = p + 3;
      q = p + 6;
    } else {
      return -1;
    }
  }
  // After an explicit country code (`+1`, `001`) only the area code is checked: writers (Faker among them)
  // put any digits in the exchange, and the `+1` already says "phone number".
  if (!w.digitsAt(q, 4) || !nanpGroupOk(w, npa) || (!bare && !nanpGroupOk(w, nxx))) return -1;
  q += 4;
  const ext = extensionEnd(w, q);
  if (ext > 0) return ext;
  return w.rightOk(q) ? q : -1;
}

function lower(c: number): number {
  return c | 0x20;
}

/**
 * An extension right after a number ending at `q`: `x123`, ` x 123`, `ext. 123`, `ext 123`, `extension 123`,
 * `#123`, `, poste 123` (1-6 digits, clean right edge).
 *
 * @returns the end index of the extension, or -1.
 */
export function extensionEnd(w: Window, q: number): number {
  let k = q;
  if (w.at(k) === SPACE || w.at(k) === COMMA) k++;
  if (w.at(k) === SPACE) k++;
  const c = lower(w.at(k));
  if (c === 0x78) {
    k++; // x
  } else if (c === 0x65 && lower(w.at(k + 1)) === 0x78 && lower(w.at(k + 2)) === 0x74) {
    k += 3; // ext
    if (w.text.slice(k, k + 6).toLowerCase() === 'ension') k += 6;
    if (w.at(k) === DOT) k++;
    if (w.at(k) === COLON) k++;
  } else if (c === HASH) {
    k++;
  } else if (c === 0x70 && w.text.slice(k, k + 5).toLowerCase() === 'poste') {
    k += 5; // French: `poste 271`
  } else {
    return -1;
  }
  if (w.at(k) === SPACE) k++;
  const end = w.digitRunEnd(k, 7);
  const digits = end - k;
  return digits >= 1 && digits <= 6 && w.rightOk(end) ? end : -1;
}

/**
 * A US/NANP number starting at digit `s`: `555-234-5678`, `555.234.5678`, `555 234 5678`, or the same after a
 * `1` trunk prefix (`1-555-234-5678`, `1 (555) 234-5678`, `1(555)234-5678`). Bare ten-digit runs are not
 * phone numbers here (order numbers, timestamps); with a `+` in front they are (see {@link matchPlusPhone}).
 *
 * @returns the end index, or -1.
 */
export function matchUsPhone(w: Window, s: number): number {
  if (w.at(s) !== DIGIT_1) return matchNanp(w, s, false);
  if (w.isDigitAt(s + 1)) return -1;
  const c = w.at(s + 1);
  return matchNanp(w, isSeparator(c) ? s + 2 : s + 1, false);
}

/**
 * `(555) 234-5678` and its variants, starting at the `(` at `p`.
 *
 * @returns the end index, or -1.
 */
export function matchParenPhone(w: Window, p: number): number {
  return isWordChar(w.at(p - 1)) ? -1 : matchNanp(w, p, false);
}

/**
 * An international number starting at the `+` at `p`.
 *
 * - `+1` is NANP: exactly ten more digits with valid area code and exchange, in any of the US layouts or bare
 *   (`+1 (555) 234-5678`, `+1-555-234-5678`, `+15552345678`).
 * - Any other country code (first digit 2-9): E.164, 8-15 digits in all, in groups joined by a single space,
 *   dash or dot; the group right after the country code may be in parentheses (`+44 (0)20 7946 0958`).
 *   Groups are read while the total stays within 15 digits, and the number ends at the last group boundary
 *   with clean edges. Ending at a boundary rather than rejecting the whole read matters: the groups beyond it
 *   may be another item (`+44 20 7946 0958 123-45-6789`), which a second pass would see as `[SSN]`.
 *
 * @returns the end index, or -1.
 */
export function matchPlusPhone(w: Window, p: number): number {
  if (isWordChar(w.at(p - 1))) return -1;
  return matchInternational(w, p + 1, false);
}

/**
 * `(+62) 897 511 086`: the country code in parentheses with its `+`, from the `(` at `p`.
 *
 * @returns the end index, or -1.
 */
export function matchParenPlusPhone(w: Window, p: number): number {
  if (isWordChar(w.at(p - 1)) || w.at(p + 1) !== PLUS) return -1;
  return matchInternational(w, p + 2, true);
}

/**
 * `00` used as the international prefix (`001-518-640-0854`, `0044 20 7946 0958`, `00420 703 101 335`): as
 * {@link matchPlusPhone}, but the country code (1-3 digits after `00`) must be followed by a separator, so a
 * contiguous identifier starting with `00` is not a phone number.
 */
export function matchDoubleZeroPhone(w: Window, s: number, runEnd: number): number {
  const run = runEnd - s;
  if (run < 3 || run > 5 || w.at(s) !== DIGIT_0 || w.at(s + 1) !== DIGIT_0) return -1;
  if (!isSeparator(w.at(runEnd))) return -1;
  // Not when it continues a number written before it (`+1 008 413 8988`).
  if (isSeparator(w.at(s - 1)) && isDigit(w.at(s - 2))) return -1;
  return matchInternational(w, s + 2, false);
}

/**
 * The number after an international prefix, from the first digit of the country code at `cc`; when
 * `closeParen`, the country code is followed by `)` (and maybe a space).
 */
function matchInternational(w: Window, cc: number, closeParen: boolean): number {
  const p = cc - 1;
  const first = w.at(p + 1);
  if (first === DIGIT_1 && !closeParen) {
    const c = w.at(p + 2);
    return matchNanp(w, isSeparator(c) ? p + 3 : p + 2, true);
  }
  if (first === DIGIT_0 || !isDigit(first)) return -1;
  let q = p + 1;
  let best = -1;
  let digits = 0;
  let groups = 0;
  if (closeParen) {
    const e = w.digitRunEnd(q, 4);
    if (e - q > 3 || w.at(e) !== RPAREN) return -1;
    digits = e - q;
    groups = 1;
    q = w.at(e + 1) === SPACE ? e + 2 : e + 1;
    if (!w.isDigitAt(q)) return -1;
  }
  for (; ; groups++) {
    // Only the group after the country code may be in parentheses, and the number never ends right after it.
    const paren = groups === 1 && w.at(q) === LPAREN;
    const groupStart = paren ? q + 1 : q;
    const groupEnd = w.digitRunEnd(groupStart, E164_MAX_DIGITS + 1);
    const group = groupEnd - groupStart;
    if (group === 0 || digits + group > E164_MAX_DIGITS) break;
    if (paren && w.at(groupEnd) !== RPAREN) break;
    digits += group;
    const end = paren ? groupEnd + 1 : groupEnd;
    if (!paren && digits >= E164_MIN_DIGITS && w.rightOk(end)) best = end;
    const c = w.at(end);
    const sep = isSeparator(c) || c === SLASH;
    if (sep && (w.isDigitAt(end + 1) || (groups === 0 && w.at(end + 1) === LPAREN))) q = end + 1;
    else if ((paren && isDigit(c)) || (groups === 0 && c === LPAREN)) q = end;
    else break;
  }
  return best;
}

const NATIONAL_MIN_DIGITS = 8;
const NATIONAL_MAX_DIGITS = 13;

function isGroupSeparator(c: number): boolean {
  return c === SPACE || c === DASH || c === DOT || c === SLASH;
}

/**
 * A number written in a national layout, from the digit or `(` at `s`: digit groups joined by single spaces,
 * dashes, dots or slashes (`07700 063 966`, `03.93.92.16.85`, `0688 872 49 99`, `076-156 14 64`), the first
 * group possibly in parentheses (`(08) 8747 6301`, `(70) 3101-3354`), or one bare digit run. The whole run of
 * groups is read (it is one token) and is a phone number, as a whole, when it holds 8-13 digits, is not shaped
 * like a date (`15.03.2024`, `2024-03-15`) or a dotted IPv4 address, and:
 * - a phone word ("call", "tel", "Handy", "電話"... see `context.ts`) comes shortly before it; or
 * - its first group is in parentheses (an area code) and it has at least 9 digits; or
 * - it starts with the trunk prefix `0`, is grouped, has at least 9 digits and is a valid national number in
 *   some region that uses that prefix (libphonenumber-js metadata, see `national.ts`).
 *
 * The phone word is looked for only when the shape alone does not decide, since it reads back through the text.
 *
 * @returns the end index (> 0) on a match; `-end` of the run when it started like a phone (a `0`, a `(` or a
 *   phone word before it) but is not one, so that nothing inside it is looked for (what keeps redaction
 *   idempotent, as for cards); 0 otherwise.
 */
export function matchNationalPhone(w: Window, s: number): number {
  let k = s;
  let digits = 0;
  let groups = 0;
  let paren = false;
  let first = -1;
  let second = -1;
  let third = -1;
  let dots = 0;
  let others = 0;
  let dashes = 0;
  let spaces = 0;
  let nonSpace = 0;
  let overflow = false;
  let leadingDots = 0;
  let maxDotGroup = 0;
  let allThreeAfterFirst = true;
  let open = s;
  if (w.isDigitAt(s) && !w.isDigitAt(s + 1)) {
    // A one-digit trunk prefix before a parenthesised area code: `8 (912) 345-67-89`, `0 (30) 1234567`.
    const j = w.at(s + 1) === SPACE ? s + 2 : s + 1;
    if (w.at(j) === LPAREN) open = j;
  }
  if (w.at(open) === LPAREN) {
    if (open === s && isWordChar(w.at(s - 1))) return 0;
    const e = w.digitRunEnd(open + 1, 6);
    const length = e - open - 1;
    if (length < 1 || length > 5 || w.at(e) !== RPAREN) return 0;
    paren = true;
    digits = length + (open - s > 0 ? 1 : 0);
    groups = 1;
    first = length;
    k = e + 1;
    if (w.at(k) === SPACE || w.at(k) === DASH) k++;
    if (!w.isDigitAt(k)) return 0;
  }
  const leading = paren ? w.at(open + 1) : w.at(s);
  let end = k;
  let lastGroupStart = k;
  for (;;) {
    const e = w.digitRunEnd(k, NATIONAL_MAX_DIGITS + 2);
    const length = e - k;
    digits += length;
    groups++;
    if (groups === 1) first = length;
    else if (groups === 2) second = length;
    else if (groups === 3) third = length;
    maxDotGroup = Math.max(maxDotGroup, length);
    if (groups > 1 && length !== 3) allThreeAfterFirst = false;
    lastGroupStart = k;
    end = e;
    const c = w.at(e);
    if (!isGroupSeparator(c) || !w.isDigitAt(e + 1)) break;
    // A group that would take the read over 13 digits: a long digit run is an item of its own and ends the
    // read (`PIN 1234 4111111111111111`); a short group means the read is part of a longer number.
    const next = w.digitRunEnd(e + 1, NATIONAL_MAX_DIGITS + 2) - e - 1;
    if (digits + next > NATIONAL_MAX_DIGITS) {
      overflow = next < NATIONAL_MIN_DIGITS;
      break;
    }
    // One kind of separator: spaces, or dashes/dots/slashes; the only mix is an area code joined by one dash
    // or slash and the rest spaced (`076-156 14 64`). So `2024-03-15 555-234-5678` is two reads.
    if (c === SPACE) {
      const afterAreaCode = nonSpace === 1 && dots === 0 && (groups === 2 || spaces > 0);
      if (nonSpace > 0 && !afterAreaCode) break;
      spaces++;
    } else {
      if (spaces > 0) break;
      nonSpace++;
    }
    if (c === DOT) dots++;
    else others++;
    if (c === DOT && others === 0) leadingDots++;
    if (c === DASH) dashes++;
    k = e + 1;
  }
  const strongStart = paren || leading === DIGIT_0;
  // A rejected read is skipped whole when it started like a phone or holds spaced groups: an item found
  // inside it (only after a space: the other separators glue digits into one token) would, once replaced,
  // shorten the read on a second pass into something that might be accepted.
  const rejected = strongStart || spaces > 0 ? -end : 0;
  // Fewer digits: no shorter read (a second pass, cut by a placeholder) can be a phone either.
  if (digits < NATIONAL_MIN_DIGITS) return 0;
  const ext = extensionEnd(w, end);
  if (digits > NATIONAL_MAX_DIGITS || overflow || (ext < 0 && !w.rightOk(end))) return rejected;
  // The rest of an IBAN (`NL78 RAGQ 0524 0070 47`): two groups of four capitals or digits just before.
  if (ibanTail(w, s)) return rejected;
  const accept = ext > 0 ? ext : end;
  // Dates (d.m.yyyy, yyyy-mm-dd, dd/mm/yy) and dotted quads are never phone numbers.
  if (groups === 3 && others + dots === 2 && !paren) {
    if (
      (isDayOrMonth(first) && isDayOrMonth(second) && (third === 4 || third === 2)) ||
      (first === 4 && isDayOrMonth(second) && isDayOrMonth(third))
    )
      return rejected;
  }
  // Four or more dotted groups not starting with a trunk `0`: an IPv4 address, alone or followed by more
  // (`10.0.4.17`, `0.197.154.187`, `85.78.0.0/11`), a version or an OID (`10.8.4.3215`). Dotted phone numbers are national
  // (`03.93.92.16.85`) or NANP (`555.234.5678`, matched before).
  if (leadingDots >= 3 && (leading !== DIGIT_0 || first === 1)) return rejected;
  // The SSN layout 3-2-4 (`968-77-0535`, an ITIN) and a US ZIP+4 code (`96223-1176`) are not phone numbers.
  if (groups === 2 && first === 5 && second === 4 && dashes === 1) return rejected;
  // The SSN layout 3-2-4 (`968-77-0535`, an ITIN) is never a phone number.
  if (groups === 3 && first === 3 && second === 2 && third === 4) return rejected;
  // No phone layout ends with a one-digit group; ISBNs (`0-452-24262-2`) and check-digit IDs do.
  if (groups >= 2 && end - lastGroupStart === 1) return rejected;
  // The US layout 3-3-4 with dashes, dots or an area code in parentheses (`055-234-5678`, `(044) 720-7286`) is
  // judged by the NANP rules alone: it is a phone here only after a phone word. Spaced (`073 105 6052`), it is
  // a national number like any other. A trunk prefix is one `0` (`00` is the international prefix).
  const maxGroup = maxDotGroup;
  const nanpLayout =
    groups === 3 && first === 3 && second === 3 && third === 4 && (paren || dashes > 0 || dots > 0);
  if (!nanpLayout) {
    if (paren && digits >= 9) return accept;
    const trunk = leading === DIGIT_0 && w.at(s + 1) !== DIGIT_0;
    if (trunk && groups >= 2 && digits >= 9 && validNational(digitsOf(w, s, end))) return accept;
    // Regions without a trunk prefix write 8-9 digits in groups of 2-3 (`918 936 880`, `83 25 18 09`,
    // `975 11 086`): at least three groups, no group over 3 digits, and not a thousands grouping such as
    // `12 345 678` or `1.234.567.890` (a group of 1-2 digits, then groups of 3).
    const thousands = first < 3 && allThreeAfterFirst;
    if (
      !paren &&
      !trunk &&
      groups >= 3 &&
      maxGroup <= 3 &&
      digits <= 9 &&
      !thousands &&
      validWithoutTrunk(digitsOf(w, s, end))
    )
      return accept;
  }
  if (phoneContext(w, s)) return accept;
  return rejected;
}

/** Could a group of `n` digits be a day or a month? */
function isDayOrMonth(n: number): boolean {
  return n >= 1 && n <= 2;
}

function digitsOf(w: Window, s: number, e: number): string {
  let out = '';
  for (let k = s; k < e; k++) {
    const c = w.text.charCodeAt(k);
    if (isDigit(c)) out += String.fromCharCode(c);
  }
  return out;
}

function isUpperAlnum(c: number): boolean {
  return isDigit(c) || (c >= 0x41 && c <= 0x5a);
}

/** Do two space-separated groups of four capitals or digits (`NL78 RAGQ `) end right before `s`? */
function ibanTail(w: Window, s: number): boolean {
  for (let group = 0; group < 2; group++) {
    const space = s - 1 - group * 5;
    if (w.at(space) !== SPACE) return false;
    for (let k = space - 4; k < space; k++) if (!isUpperAlnum(w.at(k))) return false;
  }
  return !isWordChar(w.at(s - 11));
}
