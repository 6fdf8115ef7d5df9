import { DASH, isDigit, isJoiner, SPACE } from './chars.js';
import { luhnValid } from './luhn.js';
import type { Window } from './window.js';

const MIN_DIGITS = 12;
const MAX_DIGITS = 19;

/**
 * A payment card number starting at digit `s`: 12-19 digits that pass the Luhn check and start with an issuer
 * prefix (see {@link issuerOk}), written either as one
 * digit run or as groups joined by one consistent separator (a single space or dash), the first group of 4
 * digits and the others of 2-6 (4-4-4-4, 4-6-5, 4-6-4, 4-4-4-4-3...).
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
    const ok = run <= MAX_DIGITS && w.rightOk(runEnd) && issuerOk(w, s, run) && luhnValid(w.text, s, runEnd);
    return ok ? runEnd : 0;
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
    // Groups of 2-6 after the first: 4-4-4-4, 4-6-5, 4-6-4, and Maestro's 4-4-4-4-2 or 4-4-4-4-3.
    if (group < 2 || group > 6) break;
    const after = w.at(groupEnd);
    if (after !== sep && isJoiner(after) && isDigit(w.at(groupEnd + 1))) break;
    digits += group;
    end = groupEnd;
  }
  if (groups === 1) return 0;
  const card =
    digits >= MIN_DIGITS &&
    digits <= MAX_DIGITS &&
    w.rightOk(end) &&
    issuerOk(w, s, digits) &&
    luhnValid(w.text, s, end);
  return card ? end : -end;
}

/** The first `count` digits from `s` (skipping one separator between groups) as a number. */
function prefix(w: Window, s: number, count: number): number {
  let n = 0;
  let k = s;
  for (let got = 0; got < count; k++) {
    const c = w.at(k);
    if (!isDigit(c)) continue;
    n = n * 10 + (c - 0x30);
    got++;
  }
  return n;
}

/**
 * Does a `digits`-long number starting at `s` begin with an issuer identification number (IIN) in use? Visa 4;
 * Mastercard 51-55 and 2221-2720; Mir 2200-2204; Amex 34, 37; Diners 300-305, 3095, 36, 38-39; JCB 3528-3589;
 * Discover 6011, 644-649, 65; UnionPay 62, 81; RuPay 60, 65, 81-82, 508; Maestro 50, 56-69; UATP 1 (15 digits);
 * Troy 9792. Twelve-digit numbers exist only for Maestro (50, 56-69).
 */
export function issuerOk(w: Window, s: number, digits: number): boolean {
  const two = prefix(w, s, 2);
  const four = prefix(w, s, 4);
  if (digits === 12) return two === 50 || (two >= 56 && two <= 69);
  switch (Math.floor(two / 10)) {
    case 1:
      return digits === 15;
    case 2:
      return (four >= 2200 && four <= 2204) || (four >= 2221 && four <= 2720);
    case 3:
      return (
        (four >= 3000 && four <= 3059) ||
        four === 3095 ||
        two === 34 ||
        two === 36 ||
        two === 37 ||
        two === 38 ||
        two === 39 ||
        (four >= 3528 && four <= 3589)
      );
    case 4:
    case 5:
    case 6:
      return true;
    case 8:
      return two === 81 || two === 82;
    case 9:
      return four === 9792;
    default:
      return false;
  }
}
