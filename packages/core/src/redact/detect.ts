/**
 * PII detection: e-mail addresses, US Social Security numbers, phone numbers and payment card numbers.
 *
 * ## Approach
 * A single-pass scanner, no backtracking over the input: the only regex run over the text is the
 * one-character class `[0-9]`, used to jump to the next digit in native code; the others test bounded slices
 * (below). Two linear passes over the UTF-16 text:
 *
 * 1. **E-mail**: jump from `@` to `@` with `indexOf`, read the local part leftwards and the domain rightwards
 *    over their character classes (neither contains `@`, so no character is read more than twice).
 * 2. **Numbers**, in the gaps between addresses: stop at the first digit of each digit run, drop it at once
 *    unless it could start an item (8+ digits, or 1-6 digits followed by a separator), and otherwise try
 *    bounded, hand-written matchers there (a `+` or `(` right before it, then SSN, US phone, `00` prefix, card,
 *    national phone). Each reads a fixed handful of characters, except that a digit run or a run of digit
 *    groups is read once and then skipped whole. A match moves the scan past itself. Two look-ups are bounded
 *    too: a phone or SSN word is looked for in at most 48 characters and five words around the number (one
 *    regex over that slice), and a national number's digits (at most 13) are tested against libphonenumber-js
 *    patterns compiled once.
 *
 * There is nothing to backtrack, so adversarial inputs (`a@` repeated, megabytes of `1-`) cost about what
 * prose costs per byte; `bench/redact.ts` checks that with a time budget.
 *
 * Idempotence (`redact(redact(x)) === redact(x)`) is by construction: the number matchers see the text before
 * and after an item already found as if it were a space, which is also how they see the `[KIND]` placeholder
 * on a second pass; the word look-ups stop at the previous item and at a `]` (and at the next `[` going
 * forwards); and no matcher rejects a candidate because of text that a later item will replace.
 *
 * ## What counts
 * - **email**: `local@domain.tld`. Local part: letters, digits, `. _ % + - '`. Domain: two or more DNS labels
 *   ending in an alphabetic TLD of 2+ letters, so `user@localhost`, `root@10.0.0.1`, `lodash@4.17.21` and
 *   `nginx@sha256:...` are not addresses. Quoted local parts and IP-literal domains are not supported.
 * - **ssn**: `AAA-GG-SSSS` or `AAA GG SSSS`, or a bare `AAAGGSSSS` near an SSN word ("SSN", "social
 *   security"... before or after it), that could have been issued (area not 000, 666 or 900-999; group not 00;
 *   serial not 0000). Without the word, a bare nine-digit run is not an SSN (order and account numbers).
 * - **phone**:
 *   - NANP: `(555) 234-5678`, `555-234-5678`, `555.234.5678`, `555 234 5678`, optionally after `1`, `+1` or
 *     `001`, with an optional extension (`x123`, `ext. 123`, `extension 12`, `#123`). Area codes and exchanges
 *     start with 2-9 and are not N11; after `+1` or `001` only the area code is checked.
 *   - International: `+` or `00`, a country code and 8-15 digits in all, in groups joined by single spaces,
 *     dashes, dots or slashes, the group after the country code possibly in parentheses (`+44 (0)20 7946
 *     0958`), or the country code itself in parentheses (`(+62) 897 511 086`).
 *   - National (see `lib/phone.ts`, `matchNationalPhone`): 8-13 digits in groups (or one run), not shaped like
 *     a date, an IPv4 address, a version, an ISBN, a ZIP+4 code, the SSN layout or an IBAN's tail, that either
 *     start with a trunk `0` and are valid in some region (`07700 063 966`, `03.93.92.16.85`), or are grouped
 *     in 2-3 digit groups valid in a region without a trunk prefix (`918 936 880`), or have a parenthesised
 *     area code (`(08) 8747 6301`, `8 (912) 345-67-89`), or come right after a phone word ("call", "tel",
 *     "Handy", "電話"... in about twenty languages, see `lib/context.ts`). The US 3-3-4 layout with dashes,
 *     dots or parentheses is judged by the NANP rules unless a phone word precedes it.
 *   - Not phones: seven-digit local numbers, bare runs without a phone word.
 * - **credit_card**: 12-19 digits passing the Luhn check and starting with an issuer prefix in use (12 digits
 *   only for Maestro), contiguous or in groups joined by one consistent single space or dash (first group of 4,
 *   then 2-6: 4-4-4-4, 4-6-5, 4-4-4-4-2...). A grouped run is one number, a card or nothing: more than 19
 *   digits (a tracking number) or a run continuing another digit group (an IBAN) is not a card, and no other
 *   item is looked for inside it. A group followed by a different joiner and a digit (an expiry date `12/26`)
 *   is not part of the run.
 *
 * Every number needs clean edges: it is not glued to a letter, digit or `_`, and it does not continue a
 * numeric token through `- . / :` followed by a digit, so dates, times, versions, IP addresses, ISBNs, UUIDs
 * and hashes are left alone. Text is matched as ASCII: full-width digits are ordinary characters (phone words
 * are matched in any script).
 *
 * Overlaps cannot happen: an address swallows the digits it contains, and numbers are only looked for between
 * addresses.
 *
 * @module
 */

import { PII_KINDS, type PiiKind, type PiiSpan, type RedactOptions } from './kinds.js';
import { scanEmails } from './lib/email.js';
import { type NumberKinds, scanNumbers } from './lib/numbers.js';

const ALL: ReadonlySet<PiiKind> = new Set(PII_KINDS);

/** The kinds to look for, validated once per call. */
export function selectedKinds(opts: RedactOptions | undefined): ReadonlySet<PiiKind> {
  const kinds = opts?.kinds;
  if (kinds === undefined) return ALL;
  if (!(kinds instanceof Set)) throw new TypeError('redact: opts.kinds must be a Set');
  for (const kind of kinds) {
    if (!ALL.has(kind)) throw new TypeError('redact: opts.kinds holds an unknown kind');
  }
  return kinds;
}

/**
 * Finds the personal data in `text`: every e-mail address, SSN, phone number and card number (see the module
 * documentation above for exactly what counts), as spans sorted by position and never overlapping.
 *
 * Runs in time linear in `text.length`, whatever its content.
 *
 * @throws {TypeError} if `text` is not a string or `opts.kinds` is not a Set of {@link PiiKind}s.
 * @example detect('mail jane@example.com') // [{ kind: 'email', start: 5, end: 21 }]
 */
export function detect(text: string, opts?: RedactOptions): PiiSpan[] {
  if (typeof text !== 'string') throw new TypeError('detect: expected a string');
  return detectIn(text, selectedKinds(opts));
}

/** {@link detect} without argument checks, for callers that already validated them. */
export function detectIn(text: string, kinds: ReadonlySet<PiiKind>): PiiSpan[] {
  const emails: PiiSpan[] = [];
  if (kinds.has('email')) scanEmails(text, emails);
  const numbers: NumberKinds = {
    ssn: kinds.has('ssn'),
    phone: kinds.has('phone'),
    card: kinds.has('credit_card'),
  };
  if (!numbers.ssn && !numbers.phone && !numbers.card) return emails;
  const spans: PiiSpan[] = [];
  scanNumbers(asciiSeparators(text), emails, numbers, spans);
  return spans;
}

/**
 * Typographic separators (no-break and thin spaces, which French and other locales put between digit groups;
 * Unicode hyphens and the en dash) as their ASCII forms, one UTF-16 unit for one, so number layouts read the same
 * and every span still indexes the original text. Text without them is returned as is.
 */
const TYPOGRAPHIC = /[\u00a0\u2007\u2009\u202f\u2010-\u2013]/g;
function asciiSeparators(text: string): string {
  TYPOGRAPHIC.lastIndex = 0;
  if (!TYPOGRAPHIC.test(text)) return text;
  return text.replace(TYPOGRAPHIC, (c) => (c >= '\u2010' && c <= '\u2013' ? '-' : ' '));
}
