import { isDigit, isJoiner, isWordChar, NONE } from './chars.js';

/**
 * A view of `text[lo, hi)` in which everything outside reads as {@link NONE}, like a space.
 *
 * The number scanners only ever look at text through a window whose `lo` is the end of the previous match (or
 * e-mail address) and whose `hi` is the start of the next e-mail address. A match is replaced by `[KIND]`,
 * whose brackets are neutral characters too, so a second pass over redacted text sees exactly the context the
 * first pass saw: that is what makes `redact(redact(x)) === redact(x)`.
 */
export class Window {
  readonly text: string;
  lo: number;
  hi: number;

  constructor(text: string, lo: number, hi: number) {
    this.text = text;
    this.lo = lo;
    this.hi = hi;
  }

  at(k: number): number {
    return k >= this.lo && k < this.hi ? this.text.charCodeAt(k) : NONE;
  }

  isDigitAt(k: number): boolean {
    return isDigit(this.at(k));
  }

  /** True if `k`, `k+1`, ... `k+count-1` are all digits. */
  digitsAt(k: number, count: number): boolean {
    for (let j = k; j < k + count; j++) if (!isDigit(this.at(j))) return false;
    return true;
  }

  /** The index after the digit run starting at `k`, looking at no more than `max` digits. */
  digitRunEnd(k: number, max = Number.POSITIVE_INFINITY): number {
    let j = k;
    const stop = Math.min(this.hi, k + max);
    while (j < stop && isDigit(this.text.charCodeAt(j))) j++;
    return j;
  }

  /**
   * May an item start at `s`? Not when it is glued to a letter, digit or `_`, nor when it continues a numeric
   * token through a joiner (`2024-03-15`, `1.2.3.4`, `10:30`).
   */
  leftOk(s: number): boolean {
    const prev = this.at(s - 1);
    if (isWordChar(prev)) return false;
    return !(isJoiner(prev) && isDigit(this.at(s - 2)));
  }

  /** May an item end at `e` (exclusive)? The mirror image of {@link leftOk}. */
  rightOk(e: number): boolean {
    const next = this.at(e);
    if (isWordChar(next)) return false;
    return !(isJoiner(next) && isDigit(this.at(e + 1)));
  }
}
