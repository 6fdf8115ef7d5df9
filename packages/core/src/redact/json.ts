import { detectIn } from './detect.js';
import type { PiiKind } from './kinds.js';
import type { Replacer } from './reversible.js';
import { redactWith } from './reversible.js';

const NL = '\n';

/**
 * Reads JSON text (possibly in pieces) and gives, for each character, what the detector should see: the
 * content of string values as is, everything structural (quotes, escapes, `{}[],:`, whitespace between
 * tokens) as a newline. A newline is a clean edge that no item spans, so an item is found inside one string
 * (or one bare number) and never across two; offsets are kept, so a span in the view is a span in the text.
 * Escape sequences become newlines too, so `"line\n415-555-0134"` still shows the phone number.
 */
export class JsonView {
  #inString = false;
  /** 0: none; 1: after a backslash; 2-5: hex digits of `\uXXXX` left. */
  #escape = 0;

  /** The view of `chunk`, and for each character whether it is inside a string (1) or not (0). */
  next(chunk: string): { view: string; inString: Uint8Array } {
    const out: string[] = [];
    const flags = new Uint8Array(chunk.length);
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i] as string;
      if (!this.#inString) {
        if (c === '"') {
          this.#inString = true;
          out.push(NL);
        } else if (c === '{' || c === '}' || c === '[' || c === ']' || c === ',' || c === ':' || c <= ' ') {
          out.push(NL);
        } else out.push(c);
        continue;
      }
      if (this.#escape === 1) {
        this.#escape = c === 'u' ? 5 : 0;
        out.push(NL);
      } else if (this.#escape > 1) {
        this.#escape = this.#escape === 2 ? 0 : this.#escape - 1;
        out.push(NL);
      } else if (c === '\\') {
        this.#escape = 1;
        out.push(NL);
      } else if (c === '"') {
        this.#inString = false;
        out.push(NL);
      } else {
        flags[i] = 1;
        out.push(c);
      }
    }
    return { view: out.join(''), inString: flags };
  }
}

/**
 * Redacts JSON text in place: items inside string values are replaced within the string, a bare number that
 * is an item (`{"card": 4111111111111111}`) becomes a string holding the placeholder. Everything else, the
 * layout included, is kept byte for byte, so valid JSON stays valid. Not JSON (`JSON.parse` fails): redacted as
 * plain text.
 */
export function redactJsonText(raw: string, kinds: ReadonlySet<PiiKind>, replace: Replacer): string {
  try {
    JSON.parse(raw);
  } catch {
    return redactWith(raw, kinds, replace);
  }
  const { view, inString } = new JsonView().next(raw);
  return replaceSpans(raw, view, inString, 0, raw.length, kinds, replace).text;
}

/**
 * Replaces the items of `view` (detected over the whole view) that lie in `[from, to)` of `raw`. Used by
 * {@link redactJsonText} and the streaming redactor; `inString` null means plain text.
 */
export function replaceSpans(
  raw: string,
  view: string,
  inString: Uint8Array | null,
  from: number,
  to: number,
  kinds: ReadonlySet<PiiKind>,
  replace: Replacer,
  spans = detectIn(view, kinds),
): { text: string } {
  const parts: string[] = [];
  let at = from;
  for (const span of spans) {
    if (span.end <= from || span.start >= to) continue;
    const start = Math.max(span.start, from);
    const end = Math.min(span.end, to);
    const placeholder = replace(span.kind, raw.slice(span.start, span.end));
    parts.push(raw.slice(at, start));
    parts.push(inString && inString[start] === 0 ? JSON.stringify(placeholder) : placeholder);
    at = end;
  }
  parts.push(raw.slice(at, to));
  return { text: parts.join('') };
}
