import { detectIn, selectedKinds } from './detect.js';
import { type PiiKind, REPLACEMENTS, type RedactOptions } from './kinds.js';

/**
 * Replaces the personal data in `text` with `[EMAIL]`, `[SSN]`, `[PHONE]` and `[CREDIT_CARD]` (what counts is
 * described in the `detect` module documentation). Everything else, whitespace included, is kept as is.
 *
 * Idempotent: `redact(redact(x)) === redact(x)`. Linear time in `text.length` whatever its content, so it is
 * safe on untrusted input such as prompts.
 *
 * @throws {TypeError} if `text` is not a string or `opts.kinds` is not a Set of PII kinds.
 * @example redact('Call (555) 234-5678 or mail jane@example.com') // 'Call [PHONE] or mail [EMAIL]'
 */
export function redact(text: string, opts?: RedactOptions): string {
  if (typeof text !== 'string') throw new TypeError('redact: expected a string');
  return redactIn(text, selectedKinds(opts));
}

/** {@link redact} without argument checks, for callers that already validated them. */
export function redactIn(text: string, kinds: ReadonlySet<PiiKind>): string {
  const spans = detectIn(text, kinds);
  if (spans.length === 0) return text;
  const parts: string[] = [];
  let from = 0;
  for (const span of spans) {
    parts.push(text.slice(from, span.start), REPLACEMENTS[span.kind]);
    from = span.end;
  }
  parts.push(text.slice(from));
  return parts.join('');
}
