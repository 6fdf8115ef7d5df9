// The labelled corpus, generated from a fixed seed: positives.jsonl, negatives.jsonl and limitations.jsonl
// are exactly `toJsonl(generateCorpus().positives)` and so on, which generate.test.ts checks (and rewrites
// with RAMPART_WRITE_CORPUS=1). Pure: no I/O here.
//
// Positives put one to three values into realistic sentences; the expected spans are where the values were
// inserted, and the expected redaction is the sentence with each value replaced. The sentences around them
// hold dates, prices and order numbers that must survive.
import { type PiiKind, type PiiSpan, REPLACEMENTS } from '../kinds.js';
import { NEGATIVE_CLASSES } from './negatives.js';
import type { CorpusCase } from './score.js';
import { card, emailAddress, group, intlPhone, luhnNumber, nanpCode, Rng, ssn, usPhone } from './values.js';

export const CORPUS_SEED = 0x5eed_2024;

type Slot = 'email' | 'ssn' | 'phone' | 'card';

const TEMPLATES: Readonly<Record<Slot | 'multi', readonly string[]>> = {
  email: [
    'Hi, my email is {email}, please send the invoice there.',
    'Can you update my contact address to {email}?',
    'Forwarding this to {email} for review.',
    'Please reply to <{email}> before Friday.',
    'Contact: {email}',
    '{email} wrote on 2024-03-15 at 09:41:',
    'I tried logging in as {email} but got error 403.',
    'Looping in Sam (cc {email}).',
    'Send the report to "{email}" by 5pm.',
    'Click mailto:{email} to write to us.',
    'User {email} requested a password reset at 14:22 UTC.',
    'My old address {email} no longer works; use the new one.',
    'Reach out to our support team at {email}!',
    "Is {email} the right address for billing? It's for order #88213.",
    'From: Jane Doe <{email}>',
    "The signup form says '{email}' is already taken.",
  ],
  ssn: [
    'My SSN is {ssn}.',
    'SSN: {ssn}',
    'Social security number {ssn} was entered on the W-2 form for 2023.',
    'Please verify the applicant (SSN {ssn}) before approval.',
    'Employee #4521, SSN {ssn}, start date 2024-01-08.',
    'The form lists {ssn} as the taxpayer ID.',
    'ssn={ssn}&state=CA',
    'Her social is {ssn}, DOB 04/12/1987.',
    'Patient record: SSN {ssn}; MRN A-99812.',
    'I typed {ssn} into the SSN field but it was rejected.',
    '"ssn": "{ssn}",',
  ],
  phone: [
    'Call me at {phone} after 6pm.',
    'My number is {phone}.',
    'Phone: {phone}',
    'You can reach the front desk on {phone} (ext. 204).',
    'Text {phone} to confirm your appointment on 03/22.',
    'Our office: {phone}, open 9:00-17:30.',
    'Please call back {phone} regarding ticket #88213.',
    'Mobile {phone} / office line unavailable.',
    'Dial tel:{phone} from the app.',
    'Emergency contact: Maria, {phone}.',
    'He left a voicemail from {phone} at 10:15.',
    '[{phone}] missed call, 2 min ago',
  ],
  card: [
    'Please charge my card {card} for the renewal.',
    'Card number: {card}, exp 09/27, CVV on request.',
    'The payment with {card} failed with code 51.',
    'I paid $129.00 with {card} on 2024-02-29.',
    'Use {card} for order #A-77120.',
    'My card is {card}.',
    'cc: {card} exp 11/26',
    'Refund to card {card} please.',
    'Card {card} 12/26',
    'Card on file ({card}) was declined.',
    '"pan": "{card}",',
  ],
  multi: [
    'Name: Jane Doe, email {email}, phone {phone}, SSN {ssn}.',
    'Please charge {card} and send the receipt to {email}.',
    'Call {phone} or email {email} if the card {card} is declined.',
    'Applicant SSN {ssn}, contact {phone}.',
    'Update billing: card {card}, phone {phone}.',
    '{email} | {phone} | {ssn}',
    'Contact {email}; backup {email}.',
  ],
};

const KIND: Readonly<Record<Slot, PiiKind>> = {
  email: 'email',
  ssn: 'ssn',
  phone: 'phone',
  card: 'credit_card',
};

function value(rng: Rng, slot: Slot): { value: string; format: string } {
  switch (slot) {
    case 'email':
      return emailAddress(rng);
    case 'ssn':
      return ssn(rng);
    case 'phone':
      return rng.chance(0.5) ? usPhone(rng) : intlPhone(rng);
    case 'card':
      return card(rng);
  }
}

interface Filled {
  text: string;
  spans: PiiSpan[];
  redacted: string;
}

/** `before + value + after`, with `value` labelled as `kind` (or not PII when `kind` is null). */
function fillLiteral(before: string, kind: PiiKind | null, value: string, after: string): Filled {
  const text = before + value + after;
  if (kind === null) return { text, spans: [], redacted: text };
  const spans = [{ kind, start: before.length, end: before.length + value.length }];
  return { text, spans, redacted: before + REPLACEMENTS[kind] + after };
}

/** Fills `{slot}`s left to right, recording where each value lands. */
function fill(
  rng: Rng,
  template: string,
): { text: string; spans: PiiSpan[]; redacted: string; formats: string[] } {
  let text = '';
  let redacted = '';
  const spans: PiiSpan[] = [];
  const formats: string[] = [];
  for (const piece of template.split(/(\{[a-z]+\})/)) {
    const slot = /^\{([a-z]+)\}$/.exec(piece)?.[1] as Slot | undefined;
    if (slot === undefined) {
      text += piece;
      redacted += piece;
      continue;
    }
    const v = value(rng, slot);
    const kind = KIND[slot];
    spans.push({ kind, start: text.length, end: text.length + v.value.length });
    formats.push(v.format);
    text += v.value;
    redacted += REPLACEMENTS[kind];
  }
  return { text, spans, redacted, formats };
}

const POSITIVES_PER_SLOT: Readonly<Record<Slot | 'multi', number>> = {
  email: 170,
  ssn: 130,
  phone: 240,
  card: 200,
  multi: 90,
};
const NEGATIVES_PER_CLASS = 24;
const LIMITATIONS_PER_CLASS = 6;

/**
 * Cases a human labels from context, where the documented rules knowingly give the other answer. They are
 * scored separately (limitations.jsonl) so the docs can show what the rules trade away, instead of being
 * left out or quietly relabelled to match the detector.
 */
const LIMITATIONS: ReadonlyArray<readonly [string, (rng: Rng) => Filled]> = [
  // Missed on purpose: bare digit runs are not phones or SSNs (order and account numbers look the same).
  [
    'missed/bare-phone',
    (r) => fillLiteral('Call me at ', 'phone', nanpCode(r) + nanpCode(r) + r.digits(4), ' now.'),
  ],
  [
    'missed/bare-ssn',
    (r) => fillLiteral('My SSN is ', 'ssn', `${r.int(100, 665)}${r.int(10, 99)}${r.int(1000, 9999)}`, '.'),
  ],
  [
    'missed/local-phone',
    (r) => fillLiteral('Call me at ', 'phone', `${nanpCode(r)}-${r.digits(4)}`, ' tonight.'),
  ],
  // Missed on purpose: a grouped card written right after another digit group reads as one longer number.
  [
    'missed/card-after-digit-group',
    (r) => fillLiteral('PIN 1234 ', 'credit_card', group(luhnNumber(r, '4', 16), [4, 4, 4, 4], ' '), ' ok'),
  ],
  // Redacted on purpose: Luhn-valid 13-19 digit identifiers are card-shaped (about 1 in 10 of them).
  ['redacted/luhn-valid-id', (r) => fillLiteral('Order #', null, luhnNumber(r, '7', 16), ' shipped.')],
  [
    'redacted/luhn-valid-ms-timestamp',
    (r) => fillLiteral('ts_ms: ', null, luhnNumber(r, '17', 13), ' (UTC)'),
  ],
];

/** The whole corpus, deterministic for a given seed. */
export function generateCorpus(seed = CORPUS_SEED): {
  positives: CorpusCase[];
  negatives: CorpusCase[];
  limitations: CorpusCase[];
} {
  const rng = new Rng(seed);
  const positives: CorpusCase[] = [];
  for (const slot of ['email', 'ssn', 'phone', 'card', 'multi'] as const) {
    const templates = TEMPLATES[slot];
    for (let i = 0; i < POSITIVES_PER_SLOT[slot]; i++) {
      const { text, spans, redacted, formats } = fill(rng, templates[i % templates.length] ?? '');
      const category = slot === 'multi' ? 'multi' : `${KIND[slot]}/${formats[0]}`;
      positives.push({
        id: `p${String(positives.length + 1).padStart(4, '0')}`,
        category,
        text,
        spans,
        redacted,
      });
    }
  }
  const negatives: CorpusCase[] = [];
  for (const [name, make] of NEGATIVE_CLASSES) {
    for (let i = 0; i < NEGATIVES_PER_CLASS; i++) {
      const text = make(rng);
      const id = `n${String(negatives.length + 1).padStart(4, '0')}`;
      negatives.push({ id, category: name, text, spans: [], redacted: text });
    }
  }
  const limitations: CorpusCase[] = [];
  for (const [name, make] of LIMITATIONS) {
    for (let i = 0; i < LIMITATIONS_PER_CLASS; i++) {
      const id = `l${String(limitations.length + 1).padStart(4, '0')}`;
      limitations.push({ id, category: name, ...make(rng) });
    }
  }
  return { positives, negatives, limitations };
}

/** One JSON object per line, keys in a fixed order, trailing newline. */
export function toJsonl(cases: readonly CorpusCase[]): string {
  return cases
    .map((c) =>
      JSON.stringify({
        id: c.id,
        category: c.category,
        text: c.text,
        spans: c.spans.map((s) => ({ kind: s.kind, start: s.start, end: s.end })),
        redacted: c.redacted,
      }),
    )
    .join('\n')
    .concat('\n');
}
