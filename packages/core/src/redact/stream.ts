import { detectIn, selectedKinds } from './detect.js';
import { JsonView, replaceSpans } from './json.js';
import type { PiiKind, RedactOptions } from './kinds.js';
import { PLACEHOLDER_MAX_LENGTH, type PlaceholderMap, type Replacer } from './reversible.js';

/** Already-sent text kept as left context (phone words, clean edges) for items found in the next pieces. */
const CONTEXT = 64;
/** The longest e-mail address (RFC 5321 path limit): a trailing word is held back up to this length. */
const EMAIL_MAX = 254;
/** The longest phone, card or SSN layout with separators and an extension, with margin. */
const NUMBER_MAX = 48;

const isEmailChar = (c: number) =>
  (c >= 0x30 && c <= 0x39) ||
  ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a) ||
  c === 0x2e || // .
  c === 0x5f || // _
  c === 0x25 || // %
  c === 0x2b || // +
  c === 0x2d || // -
  c === 0x27 || // '
  c === 0x40; // @
/** Characters a phone, card or SSN layout can contain (digits, separators, `+()#`, the letters of `ext`/`x`). */
const isNumberChar = (c: number) =>
  (c >= 0x30 && c <= 0x39) ||
  c === 0x20 ||
  c === 0x2b ||
  c === 0x28 ||
  c === 0x29 ||
  c === 0x2d ||
  c === 0x2e ||
  c === 0x2f ||
  c === 0x23 ||
  c === 0x3a ||
  c === 0xa0 ||
  c === 0x2007 ||
  c === 0x2009 ||
  c === 0x202f ||
  (c >= 0x2010 && c <= 0x2013) ||
  (c | 0x20) === 0x65 ||
  (c | 0x20) === 0x78 ||
  (c | 0x20) === 0x74;
const isNumberStart = (c: number) => (c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x28;
/**
 * Words after a number that can still change what it is: an SSN or phone word up to five words after a bare
 * number, or an extension word (`, poste 271`, `extension 12`). One word of margin over the detector's five.
 */
const FOLLOW_WORDS = 6;
/** ...and at most this many characters of them, so the hold stays bounded. */
const FOLLOW_MAX = 128;
const isSpace = (c: number) =>
  c === 0x20 || c === 0x09 || c === 0xa0 || c === 0x2007 || c === 0x2009 || c === 0x202f;
const isDigit = (c: number) => c >= 0x30 && c <= 0x39;

/**
 * The tail from the first number in the last few words of the current sentence: a later word there (an SSN or
 * phone word, an extension) can still make that number an item, or a longer one. 0 when there is none.
 */
function followTail(view: string): number {
  const len = view.length;
  let k = len;
  let words = 0;
  let inWord = false;
  let first = -1;
  while (k > 0 && len - k < FOLLOW_MAX) {
    const c = view.charCodeAt(k - 1);
    if (c === 0x0a || c === 0x0d) break;
    // A sentence end: . ! ? followed by a space (a dot inside a number or at the very end is not one).
    if ((c === 0x2e || c === 0x21 || c === 0x3f) && k < len && isSpace(view.charCodeAt(k))) break;
    if (isSpace(c)) {
      if (inWord && ++words >= FOLLOW_WORDS) break;
      inWord = false;
    } else inWord = true;
    if (isDigit(c)) first = k - 1;
    k--;
  }
  if (first < 0) return 0;
  let j = first;
  while (j > 0 && first - j < NUMBER_MAX && isNumberChar(view.charCodeAt(j - 1))) j--;
  return len - j;
}

/**
 * How much of the end of `view` could still become (part of) an item once more text arrives: the trailing
 * word that could be an e-mail address, the trailing run of number characters if it holds a digit, `+` or
 * `(`, and a number in the last few words of the sentence, which a following SSN or phone word or extension can
 * still turn into an item. Bounded by {@link EMAIL_MAX} and {@link FOLLOW_MAX}; on prose it is the last word.
 */
export function heldTail(view: string): number {
  const len = view.length;
  let i = len;
  while (i > 0 && len - i < EMAIL_MAX && isEmailChar(view.charCodeAt(i - 1))) i--;
  let j = len;
  let numeric = false;
  while (j > 0 && len - j < NUMBER_MAX && isNumberChar(view.charCodeAt(j - 1))) {
    if (isNumberStart(view.charCodeAt(j - 1))) numeric = true;
    j--;
  }
  return Math.max(len - i, numeric ? len - j : 0, followTail(view));
}

/**
 * Redacts text that arrives in pieces (a streamed answer), sending on at once everything that no later piece
 * can turn into an item, and holding back only the tail that could still be one ({@link heldTail}: the last
 * word, or a trailing run of number characters, at most one item long). An item split across pieces is found
 * whole. {@link flush} sends the rest at the end of the stream.
 *
 * With `json`, the pieces are JSON text (streamed tool-call arguments): items are looked for inside string
 * values and bare numbers, as {@link redactJsonText} does.
 *
 * Each call costs time linear in the piece plus the held tail, so the whole stream stays linear.
 */
export class StreamRedactor {
  readonly #kinds: ReadonlySet<PiiKind>;
  readonly #replace: Replacer;
  readonly #json: JsonView | null;
  #ctxRaw = '';
  #ctxView = '';
  #raw = '';
  #view = '';
  #flags: Uint8Array | null;

  constructor(replace: Replacer, opts?: RedactOptions & { json?: boolean }) {
    this.#kinds = selectedKinds(opts);
    this.#replace = replace;
    this.#json = opts?.json ? new JsonView() : null;
    this.#flags = this.#json ? new Uint8Array(0) : null;
  }

  /** Takes the next piece; returns the redacted text that can be sent now (possibly empty). */
  push(piece: string): string {
    if (piece.length === 0) return '';
    this.#raw += piece;
    if (this.#json) {
      const { view, inString } = this.#json.next(piece);
      this.#view += view;
      const flags = new Uint8Array((this.#flags as Uint8Array).length + inString.length);
      flags.set(this.#flags as Uint8Array);
      flags.set(inString, (this.#flags as Uint8Array).length);
      this.#flags = flags;
    } else this.#view += piece;
    return this.#emit(false);
  }

  /** The end of the stream: returns everything still held, redacted. */
  flush(): string {
    return this.#raw.length ? this.#emit(true) : '';
  }

  /** Characters currently held back (for tests and metrics). */
  get held(): number {
    return this.#raw.length;
  }

  #emit(final: boolean): string {
    const off = this.#ctxView.length;
    const view = this.#ctxView + this.#view;
    const spans = detectIn(view, this.#kinds);
    let cut = final ? view.length : view.length - heldTail(this.#view);
    if (!final) {
      // Never cut through an item: hold it whole (an item ending before the cut has its right context already).
      for (const span of spans) if (span.start < cut && span.end > cut) cut = Math.max(off, span.start);
    }
    if (cut <= off) return '';
    const raw = this.#ctxRaw + this.#raw;
    const flags = this.#flags ? concatFlags(off, this.#flags) : null;
    const { text } = replaceSpans(raw, view, flags, off, cut, this.#kinds, this.#replace, spans);
    const n = cut - off;
    this.#ctxRaw = (this.#ctxRaw + this.#raw.slice(0, n)).slice(-CONTEXT);
    this.#ctxView = (this.#ctxView + this.#view.slice(0, n)).slice(-CONTEXT);
    this.#raw = this.#raw.slice(n);
    this.#view = this.#view.slice(n);
    if (this.#flags) this.#flags = this.#flags.slice(n);
    return text;
  }
}

function concatFlags(pad: number, flags: Uint8Array): Uint8Array {
  const out = new Uint8Array(pad + flags.length);
  out.set(flags, pad);
  return out;
}

/**
 * Puts the originals of a {@link PlaceholderMap} back into text that arrives in pieces, holding back only a
 * trailing `[` that could be the start of a placeholder split across pieces (at most
 * {@link PLACEHOLDER_MAX_LENGTH} characters). With `json`, originals are JSON-string escaped.
 */
export class StreamRestorer {
  readonly #map: PlaceholderMap;
  readonly #json: boolean;
  #held = '';

  constructor(map: PlaceholderMap, opts?: { json?: boolean }) {
    this.#map = map;
    this.#json = opts?.json === true;
  }

  push(piece: string): string {
    const text = this.#held + piece;
    const k = text.lastIndexOf('[');
    if (k >= 0 && text.length - k < PLACEHOLDER_MAX_LENGTH && /^\[[A-Z_]*[0-9]*$/.test(text.slice(k))) {
      this.#held = text.slice(k);
      return this.#map.restore(text.slice(0, k), this.#json);
    }
    this.#held = '';
    return this.#map.restore(text, this.#json);
  }

  flush(): string {
    const rest = this.#held;
    this.#held = '';
    return this.#map.restore(rest, this.#json);
  }
}
