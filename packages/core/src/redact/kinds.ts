/** The kinds of personal data the redaction engine detects. */
export type PiiKind = 'email' | 'ssn' | 'phone' | 'credit_card';

/** Every kind, in a fixed order: the default set for {@link RedactOptions.kinds}. */
export const PII_KINDS: readonly PiiKind[] = Object.freeze(['email', 'ssn', 'phone', 'credit_card'] as const);

/**
 * The text that replaces each kind. None of them contains a digit or an `@`, which is what makes redacting
 * twice give the same result as redacting once.
 */
export const REPLACEMENTS: Readonly<Record<PiiKind, string>> = Object.freeze({
  email: '[EMAIL]',
  ssn: '[SSN]',
  phone: '[PHONE]',
  credit_card: '[CREDIT_CARD]',
});

/** One detected item: `text.slice(start, end)` is the personal data (UTF-16 offsets, `end` exclusive). */
export interface PiiSpan {
  readonly kind: PiiKind;
  readonly start: number;
  readonly end: number;
}

/** Options shared by {@link detect}, {@link redact} and {@link redactChatMessages}. */
export interface RedactOptions {
  /** Only these kinds are detected; default: all of {@link PII_KINDS}. */
  readonly kinds?: ReadonlySet<PiiKind>;
}
