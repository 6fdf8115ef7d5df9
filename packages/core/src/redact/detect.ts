/**
 * PII detection: e-mail addresses, US Social Security numbers, phone numbers and payment card numbers.
 *
 * ## Approach
 * A single-pass scanner, no backtracking regular expressions (the only regex is the one-character class
 * `[0-9]`, used to jump to the next digit in native code). Two linear passes over the UTF-16 text:
 *
 * 1. **E-mail**: jump from `@` to `@` with `indexOf`, read the local part leftwards and the domain rightwards
 *    over their character classes (neither contains `@`, so no character is read more than twice).
 * 2. **Numbers**, in the gaps between addresses: stop at the first digit of each digit run, drop it at once
 *    unless it could start an item (13+ digits, or 1, 3 or 4 digits followed by a separator), and otherwise
 *    try bounded, hand-written matchers there (a `+` or `(` right before it, then SSN, US phone, card). Each
 *    reads a fixed handful of characters, except that a long digit run or a run of card-like groups is read
 *    once and then skipped whole. A match moves the scan past itself.
 *
 * There is nothing to backtrack, so adversarial inputs (`a@` repeated, megabytes of `1-`) cost about what
 * prose costs per byte; `bench/redact.ts` checks that with a time budget.
 *
 * Idempotence (`redact(redact(x)) === redact(x)`) is by construction: the number matchers see the text before
 * and after an item already found as if it were a space, which is also how they see the `[KIND]` placeholder
 * on a second pass, and no matcher rejects a candidate because of text that a later item will replace.
 *
 * ## What counts
 * - **email**: `local@domain.tld`. Local part: letters, digits, `. _ % + - '`. Domain: two or more DNS labels
 *   ending in an alphabetic TLD of 2+ letters, so `user@localhost`, `root@10.0.0.1`, `lodash@4.17.21` and
 *   `nginx@sha256:...` are not addresses. Quoted local parts and IP-literal domains are not supported.
 * - **ssn**: `AAA-GG-SSSS` or `AAA GG SSSS` that could have been issued (area not 000, 666 or 900-999; group
 *   not 00; serial not 0000). A bare nine-digit run is not an SSN (too many order and account numbers).
 * - **phone**: E.164 (`+` and 8-15 digits, grouped by single spaces, dashes or dots, the group after the
 *   country code possibly in parentheses, `+44 (0)20 7946 0958`) and the US/NANP layouts `(555) 234-5678`,
 *   `555-234-5678`, `555.234.5678`, `555 234 5678`, optionally after `1` or `+1` (`1-555-234-5678`,
 *   `+1 555 234 5678`, `+15552345678`). NANP area codes and exchanges start with 2-9 and are not N11 (so
 *   `555-123-4567` is not a phone). Bare ten-digit runs and seven-digit local numbers are not phones.
 * - **credit_card**: 13-19 digits passing the Luhn check, contiguous or in groups joined by one consistent
 *   single space or dash (first group of 4, then 3-6: 4-4-4-4, 4-6-5, 4-6-4...). A grouped run is one number,
 *   a card or nothing: more than 19 digits (a tracking number) or a run continuing another digit group (an
 *   IBAN) is not a card, and no other item is looked for inside it. A group followed by a different joiner
 *   and a digit (an expiry date `12/26`) is not part of the run.
 *
 * Every number needs clean edges: it is not glued to a letter, digit or `_`, and it does not continue a
 * numeric token through `- . / :` followed by a digit, so dates, times, versions, IP addresses, ISBNs, UUIDs
 * and hashes are left alone. Text is matched as ASCII: full-width digits and non-Latin letters are ordinary
 * characters.
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
  scanNumbers(text, emails, numbers, spans);
  return spans;
}
