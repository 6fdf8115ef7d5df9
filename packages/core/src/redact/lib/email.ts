import type { PiiSpan } from '../kinds.js';
import { APOSTROPHE, DASH, DOT, isAlnum, isAsciiLetter } from './chars.js';

const MAX_LABEL = 63;

/** Characters of an e-mail local part as people write them: letters, digits and `. _ % + - '`. */
function isLocalChar(c: number): boolean {
  return isAlnum(c) || c === DOT || c === 0x5f || c === 0x25 || c === 0x2b || c === DASH || c === APOSTROPHE;
}

function isDomainChar(c: number): boolean {
  return isAlnum(c) || c === DOT || c === DASH;
}

/**
 * Where the domain that starts at `from` ends: the end of the last label that is a top-level domain (2+
 * letters) while every label before it is a valid DNS label (1-63 letters, digits or inner dashes). Needs at
 * least two labels, so `user@localhost` and `pkg@1.2.3` are not addresses. Trailing labels that are not a TLD
 * are left out (`a@b.com.4111...`), so what follows the address is scanned as ordinary text.
 *
 * @returns the end index, or -1.
 */
function domainEnd(text: string, from: number, to: number): number {
  let best = -1;
  let labelStart = from;
  let labels = 0;
  for (let k = from; k <= to; k++) {
    if (k < to && text.charCodeAt(k) !== DOT) continue;
    const length = k - labelStart;
    if (length === 0 || length > MAX_LABEL) break;
    if (text.charCodeAt(labelStart) === DASH || text.charCodeAt(k - 1) === DASH) break;
    labels++;
    if (labels >= 2 && length >= 2) {
      let alpha = true;
      for (let j = labelStart; j < k && alpha; j++) alpha = isAsciiLetter(text.charCodeAt(j));
      if (alpha) best = k;
    }
    labelStart = k + 1;
  }
  return best;
}

/**
 * Finds e-mail addresses, appending them to `out` in order.
 *
 * The anchor is each `@` (found with `indexOf`); the local part is read leftwards and the domain rightwards.
 * Neither character class contains `@`, so each stretch of text between two `@` is read at most twice however
 * the input is shaped: linear time, no backtracking. Local parts and domains have no length cap on purpose:
 * an over-long address is still somebody's address.
 */
export function scanEmails(text: string, out: PiiSpan[]): void {
  let floor = 0;
  let at = text.indexOf('@');
  while (at !== -1) {
    let start = at;
    while (start > floor && isLocalChar(text.charCodeAt(start - 1))) start--;
    // A local part does not start with a dot, and a leading quote is punctuation ('a@b.com').
    while (start < at && (text.charCodeAt(start) === DOT || text.charCodeAt(start) === APOSTROPHE)) start++;
    let hasAlnum = false;
    for (let k = start; k < at && !hasAlnum; k++) hasAlnum = isAlnum(text.charCodeAt(k));
    let end = -1;
    if (hasAlnum) {
      let to = at + 1;
      while (to < text.length && isDomainChar(text.charCodeAt(to))) to++;
      while (to > at + 1 && text.charCodeAt(to - 1) === DOT) to--;
      end = domainEnd(text, at + 1, to);
    }
    if (end > 0) {
      out.push({ kind: 'email', start, end });
      floor = end;
      at = text.indexOf('@', end);
    } else {
      at = text.indexOf('@', at + 1);
    }
  }
}
