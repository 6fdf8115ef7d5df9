import { DASH, SPACE } from './chars.js';
import { ssnContext } from './context.js';
import type { Window } from './window.js';

/**
 * Could `area`-`group`-`serial` have been issued? The SSA never issues area 000, 666 or 900-999, group 00 or
 * serial 0000 (these are the only structural rules left since randomisation in 2011).
 */
export function isPossibleSsn(area: number, group: number, serial: number): boolean {
  return area !== 0 && area !== 666 && area < 900 && group !== 0 && serial !== 0;
}

function num(w: Window, k: number, count: number): number {
  let n = 0;
  for (let j = k; j < k + count; j++) n = n * 10 + (w.at(j) - 0x30);
  return n;
}

/**
 * `AAA-GG-SSSS` or `AAA GG SSSS` (the same separator twice) starting at digit `s`, a possible SSN, with clean
 * boundaries, or a bare nine-digit run `AAAGGSSSS` that passes the same rules and comes shortly before or after an
 * SSN word (without one, a nine-digit run is far more often an order or account number).
 *
 * @returns the end index, or -1.
 */
export function matchSsn(w: Window, s: number, runEnd: number): number {
  if (runEnd - s === 9) {
    // A bare nine-digit run is an SSN only right after an SSN word ("SSN", "social security"...).
    const ok = isPossibleSsn(num(w, s, 3), num(w, s + 3, 2), num(w, s + 5, 4)) && w.rightOk(runEnd);
    return ok && ssnContext(w, s, runEnd) ? runEnd : -1;
  }
  const sep = w.at(s + 3);
  if (sep !== DASH && sep !== SPACE) return -1;
  if (!w.digitsAt(s, 3) || !w.digitsAt(s + 4, 2) || w.at(s + 6) !== sep || !w.digitsAt(s + 7, 4)) return -1;
  if (!isPossibleSsn(num(w, s, 3), num(w, s + 4, 2), num(w, s + 7, 4))) return -1;
  return w.rightOk(s + 11) ? s + 11 : -1;
}
