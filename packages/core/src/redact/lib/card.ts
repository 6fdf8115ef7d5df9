import { DASH, isDigit, isJoiner, SPACE } from './chars.js';
import { luhnValid } from './luhn.js';
import type { Window } from './window.js';

const MIN_DIGITS = 13;
const MAX_DIGITS = 19;

/**
 * A payment card number starting at digit `s`: 13-19 digits that pass the Luhn check, written either as one
 * digit run or as groups joined by one consistent separator (a single space or dash), the first group of 4
 * digits and the others of 3-6 (4-4-4-4, 4-6-5, 4-6-4, 4-4-4-4-3...).
 *
 * A grouped run (two groups or more) is one number, a card or nothing: when it is not a card, scanning
 * resumes after it, so no other item is looked for inside it. That is what keeps redaction idempotent:
 * otherwise a phone number found inside a rejected run would, once replaced, shorten the run into a valid
 * card on a second pass. Also:
 * - a group followed by a joiner and a digit (`12/26`, `2024-03-15`) belongs to the next token, so a card
 *   followed by its expiry date is still found;
 * - a space-grouped run right after another digit group (`DE89 3704 0044 0532 0130 00`, an IBAN) continues
 *   that number and is not a card;
 * - a run of more than 19 digits (`9400 1000 0000 0000 0000 00`, a USPS tracking number) is not a card.
 *
 * @returns the end index (> 0) on a match; otherwise `-resume`, where `resume` is where scanning continues
 *   (0 meaning "after the first digit run").
 */
export function matchCard(w: Window, s: number, runEnd: number): number {
  const run = runEnd - s;
  if (run >= MIN_DIGITS) {
    return run <= MAX_DIGITS && w.rightOk(runEnd) && luhnValid(w.text, s, runEnd) ? runEnd : 0;
  }
  if (run !== 4) return 0;
  const sep = w.at(runEnd);
  if (sep !== SPACE && sep !== DASH) return 0;
  if (sep === SPACE && w.at(s - 1) === SPACE && isDigit(w.at(s - 2))) return 0;
  let end = runEnd;
  let digits = 4;
  let groups = 1;
  for (; ; groups++) {
    if (w.at(end) !== sep || !isDigit(w.at(end + 1))) break;
    const groupEnd = w.digitRunEnd(end + 1, 7);
    const group = groupEnd - end - 1;
    if (group < 3 || group > 6) break;
    const after = w.at(groupEnd);
    if (after !== sep && isJoiner(after) && isDigit(w.at(groupEnd + 1))) break;
    digits += group;
    end = groupEnd;
  }
  if (groups === 1) return 0;
  const card = digits >= MIN_DIGITS && digits <= MAX_DIGITS && w.rightOk(end) && luhnValid(w.text, s, end);
  return card ? end : -end;
}
