import { detectIn } from './detect.js';
import { type PiiKind, REPLACEMENTS } from './kinds.js';

/**
 * What an item becomes: given its kind and its text, the string that takes its place. {@link maskReplacer}
 * gives the fixed `[EMAIL]`-style placeholders; {@link PlaceholderMap.replacer} numbered, reversible ones.
 */
export type Replacer = (kind: PiiKind, value: string) => string;

/** The fixed placeholders of {@link REPLACEMENTS}: nothing can be put back. */
export const maskReplacer: Replacer = (kind) => REPLACEMENTS[kind];

const LABELS: Readonly<Record<PiiKind, string>> = Object.freeze({
  email: 'EMAIL',
  ssn: 'SSN',
  phone: 'PHONE',
  credit_card: 'CREDIT_CARD',
});

/** A numbered placeholder as a whole (`[EMAIL_1]`, `[CREDIT_CARD_12]`). */
const PLACEHOLDER = /\[(?:EMAIL|SSN|PHONE|CREDIT_CARD)_[1-9][0-9]{0,8}\]/g;
/** The longest placeholder {@link PlaceholderMap} can give, `[CREDIT_CARD_999999999]`. */
export const PLACEHOLDER_MAX_LENGTH = '[CREDIT_CARD_]'.length + 9;

/**
 * Reversible redaction for one request: each item becomes a numbered placeholder (`[EMAIL_1]`, `[PHONE_2]`,
 * numbered per kind), the same value always gets the same one, and {@link restore} puts the originals back.
 *
 * The map holds the personal data itself, so it lives in memory only, for one request: it has no enumerable
 * state, serialises to `{}` and prints as a count, so a stray log line or audit meta cannot carry a value.
 */
export class PlaceholderMap {
  readonly #byValue = new Map<string, string>();
  readonly #byPlaceholder = new Map<string, string>();
  readonly #counts = new Map<PiiKind, number>();

  /** How many distinct items were replaced. */
  get size(): number {
    return this.#byPlaceholder.size;
  }

  /** The placeholder of `value` (a new number the first time this value is seen in this map). */
  readonly replacer: Replacer = (kind, value) => {
    const key = `${kind}\0${value}`;
    const known = this.#byValue.get(key);
    if (known) return known;
    const n = (this.#counts.get(kind) ?? 0) + 1;
    this.#counts.set(kind, n);
    const placeholder = `[${LABELS[kind]}_${n}]`;
    this.#byValue.set(key, placeholder);
    this.#byPlaceholder.set(placeholder, value);
    return placeholder;
  };

  /**
   * Puts the originals back in place of this map's placeholders; other bracketed text (placeholders this map
   * did not give, `[EMAIL]`) is kept. With `json`, the originals are JSON-string escaped, for placeholders
   * inside JSON text such as tool-call arguments.
   */
  restore(text: string, json = false): string {
    if (this.#byPlaceholder.size === 0 || !text.includes('[')) return text;
    return text.replace(PLACEHOLDER, (p) => {
      const value = this.#byPlaceholder.get(p);
      if (value === undefined) return p;
      return json ? JSON.stringify(value).slice(1, -1) : value;
    });
  }

  toJSON(): Record<string, never> {
    return {};
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `PlaceholderMap(${this.size} items)`;
  }
}

/** Replaces every item of `text` with what `replace` gives for it. */
export function redactWith(text: string, kinds: ReadonlySet<PiiKind>, replace: Replacer): string {
  const spans = detectIn(text, kinds);
  if (spans.length === 0) return text;
  const parts: string[] = [];
  let from = 0;
  for (const span of spans) {
    parts.push(text.slice(from, span.start), replace(span.kind, text.slice(span.start, span.end)));
    from = span.end;
  }
  parts.push(text.slice(from));
  return parts.join('');
}
