/** Shortest value that shows anything: its last 4 characters are then at most a third of it. */
const MIN_REVEAL_LENGTH = 12;
const SUFFIX_LENGTH = 4;
/** A vendor marker such as `sk-`, `ghp_` or `pk_`: 1-3 letters or digits and the first `-` or `_`. */
const PREFIX = /^[A-Za-z0-9]{1,3}[-_]/;
const HIDDEN = '****';

/**
 * A display form of a secret, for showing a stored value back to its owner so they can recognise it.
 *
 * The rule, in order:
 * 1. Values shorter than 12 characters (Unicode code points) give `****` and nothing else.
 * 2. Otherwise the last 4 characters are shown after `...`, e.g. `...abcd`.
 * 3. A recognisable prefix is added in front when the value starts with 1-3 letters/digits followed by `-` or
 *    `_` (so at most 4 characters, e.g. `sk-`, `ghp_`), giving `sk-...abcd`; but only while the prefix and
 *    suffix together are at most a third of the value, so a 12-20 character `sk-` value shows `...abcd` only.
 *
 * So a mask never reveals more than a third of the value, never reveals its length, and is never longer than
 * 4 + 3 + 4 characters.
 *
 * @throws {TypeError} if `plaintext` is not a string.
 * @example mask('sk-proj-abcdefghijklmnop1234') // 'sk-...1234'
 */
export function mask(plaintext: string): string {
  if (typeof plaintext !== 'string') throw new TypeError('mask: expected a string');
  // Code points, not UTF-16 units, so a suffix never starts with half an emoji.
  const chars = Array.from(plaintext);
  if (chars.length < MIN_REVEAL_LENGTH) return HIDDEN;
  const suffix = chars.slice(-SUFFIX_LENGTH).join('');
  const prefix = PREFIX.exec(plaintext)?.[0] ?? '';
  const revealed = prefix.length + SUFFIX_LENGTH;
  return revealed * 3 <= chars.length ? `${prefix}...${suffix}` : `...${suffix}`;
}
