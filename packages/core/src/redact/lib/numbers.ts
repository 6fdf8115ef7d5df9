import type { PiiKind, PiiSpan } from '../kinds.js';
import { matchCard } from './card.js';
import { DASH, DOT, isDigit, LPAREN, PLUS, SLASH, SPACE } from './chars.js';
import {
  matchDoubleZeroPhone,
  matchNationalPhone,
  matchParenPhone,
  matchParenPlusPhone,
  matchPlusPhone,
  matchUsPhone,
} from './phone.js';
import { matchSsn } from './ssn.js';
import { Window } from './window.js';

/** Which numeric kinds to look for. */
export interface NumberKinds {
  readonly ssn: boolean;
  readonly phone: boolean;
  readonly card: boolean;
}

// One character class, no quantifier: irregexp runs it as a tight native loop, several times faster than a
// charCodeAt loop in JavaScript, and it cannot backtrack.
const DIGIT = /[0-9]/g;

function span(kind: PiiKind, start: number, end: number): PiiSpan {
  return { kind, start, end };
}

/**
 * A cheap filter run on every digit run before the matchers: without a `+` or `(` in front, an item starts
 * with 8 or more digits (a card, or a bare number after a phone or SSN word), or with a group of 1-6 digits
 * followed by a separator and a digit or `(` (trunk `1`, SSN, area code, first card group, national number).
 * Most digit runs in prose (`30`, `2024.`, `$1,249`) stop here.
 */
function mayStartItem(w: Window, length: number, runEnd: number): boolean {
  if (length >= 8) return true;
  if (length > 6) return false;
  const next = w.at(runEnd);
  if (next !== SPACE && next !== DASH && next !== DOT && next !== LPAREN && next !== SLASH) return false;
  const after = w.at(runEnd + 1);
  return isDigit(after) || after === LPAREN;
}

/**
 * The item starting at the digit run `[d, runEnd)` (or at the `+` or `(` just before it), or, when there is
 * none, the index where scanning resumes. Matchers are tried in a fixed order: SSN, US phone, `00`
 * international prefix, card, national phone.
 */
function matchAt(w: Window, d: number, runEnd: number, kinds: NumberKinds): PiiSpan | number {
  const prev = w.at(d - 1);
  if (prev === PLUS || prev === LPAREN) {
    if (kinds.phone) {
      if (prev === PLUS && w.at(d - 2) === LPAREN) {
        const e = matchParenPlusPhone(w, d - 2);
        if (e > 0) return span('phone', d - 2, e);
      }
      let e = prev === PLUS ? matchPlusPhone(w, d - 1) : matchParenPhone(w, d - 1);
      if (e > 0) return span('phone', d - 1, e);
      if (prev === LPAREN) {
        e = matchNationalPhone(w, d - 1);
        if (e > 0) return span('phone', d - 1, e);
        if (e < 0) return -e;
      }
    }
  } else if (!mayStartItem(w, runEnd - d, runEnd)) {
    return runEnd;
  }
  if (!w.leftOk(d)) return runEnd;
  if (kinds.ssn) {
    const e = matchSsn(w, d, runEnd);
    if (e > 0) return span('ssn', d, e);
  }
  if (kinds.phone) {
    let e = matchUsPhone(w, d);
    if (e > 0) return span('phone', d, e);
    e = matchDoubleZeroPhone(w, d, runEnd);
    if (e > 0) return span('phone', d, e);
  }
  let resume = runEnd;
  if (kinds.card) {
    const e = matchCard(w, d, runEnd);
    if (e > 0) return span('credit_card', d, e);
    if (e < 0) resume = -e;
  }
  if (kinds.phone && prev !== PLUS && !continuesGroups(w, d)) {
    const e = matchNationalPhone(w, d);
    if (e > 0) return span('phone', d, e);
    if (e < 0) resume = Math.max(resume, -e);
  }
  return resume;
}

/** Is the digit run at `d` the next group of a space-grouped number that started before it? */
function continuesGroups(w: Window, d: number): boolean {
  return w.at(d - 1) === SPACE && isDigit(w.at(d - 2));
}

/**
 * Finds SSNs, phone numbers and card numbers in the gaps between the e-mail addresses `emails` (sorted), and
 * appends them and the addresses to `out`, in order.
 *
 * One pass: the scan jumps to the first digit of each digit run. There the matchers are tried in a fixed
 * order (a `+` or `(` just before it first, then SSN, US phone, card), each reading a bounded number of
 * characters forward, except that a run of digits, or of card-like digit groups, is read once and then
 * skipped whole. The position only moves forward, so the work is linear in the input.
 */
export function scanNumbers(
  text: string,
  emails: readonly PiiSpan[],
  kinds: NumberKinds,
  out: PiiSpan[],
): void {
  let next = 0;
  const w = new Window(text, 0, emails[0]?.start ?? text.length);
  let i = 0;
  for (;;) {
    DIGIT.lastIndex = i;
    if (!DIGIT.test(text)) break;
    const d = DIGIT.lastIndex - 1;
    const email = emails[next];
    if (email !== undefined && d >= email.start) {
      // The digit is in or after the next address: emit the address and continue in the following gap.
      out.push(email);
      next++;
      i = email.end;
      w.lo = i;
      w.hi = emails[next]?.start ?? text.length;
      continue;
    }
    const runEnd = w.digitRunEnd(d);
    const found = matchAt(w, d, runEnd, kinds);
    if (typeof found === 'number') {
      i = found;
    } else {
      out.push(found);
      i = found.end;
      w.lo = i;
    }
  }
  for (; next < emails.length; next++) out.push(emails[next] as PiiSpan);
}
