import { DASH, DIGIT_0, DIGIT_1, DOT, isDigit, isWordChar, LPAREN, RPAREN, SPACE } from './chars.js';
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
 * with one consistent separator (`-`, `.` or space), or, when `bare` (after `+1`), ten contiguous digits.
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
      if (!w.digitsAt(p + 4, 3) || w.at(p + 7) !== sep) return -1;
      nxx = p + 4;
      q = p + 8;
    } else if (bare && w.digitsAt(p + 3, 3)) {
      nxx = p + 3;
      q = p + 6;
    } else {
      return -1;
    }
  }
  if (!w.digitsAt(q, 4) || !nanpGroupOk(w, npa) || !nanpGroupOk(w, nxx)) return -1;
  q += 4;
  return w.rightOk(q) ? q : -1;
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
  const first = w.at(p + 1);
  if (first === DIGIT_1) {
    const c = w.at(p + 2);
    return matchNanp(w, isSeparator(c) ? p + 3 : p + 2, true);
  }
  if (first === DIGIT_0 || !isDigit(first)) return -1;
  let q = p + 1;
  let best = -1;
  let digits = 0;
  for (let groups = 0; ; groups++) {
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
    if (isSeparator(c) && (w.isDigitAt(end + 1) || (groups === 0 && w.at(end + 1) === LPAREN))) q = end + 1;
    else if ((paren && isDigit(c)) || (groups === 0 && c === LPAREN)) q = end;
    else break;
  }
  return best;
}
