// Character codes and classes used by the scanners. Only ASCII matters: a non-ASCII character is never part
// of a detected item and never glues one to its neighbours.

/** What a {@link Window} returns outside its bounds: behaves like a space. */
export const NONE = -1;

export const SPACE = 0x20;
export const HASH = 0x23;
export const APOSTROPHE = 0x27;
export const LPAREN = 0x28;
export const RPAREN = 0x29;
export const PLUS = 0x2b;
export const COMMA = 0x2c;
export const DASH = 0x2d;
export const DOT = 0x2e;
export const SLASH = 0x2f;
export const DIGIT_0 = 0x30;
export const DIGIT_1 = 0x31;
export const COLON = 0x3a;
export const UNDERSCORE = 0x5f;

export function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

export function isAsciiLetter(c: number): boolean {
  const lower = c | 0x20;
  return lower >= 0x61 && lower <= 0x7a;
}

export function isAlnum(c: number): boolean {
  return isDigit(c) || isAsciiLetter(c);
}

/** Letters, digits and `_`: a number touching one of these is part of an identifier, not PII on its own. */
export function isWordChar(c: number): boolean {
  return isAlnum(c) || c === UNDERSCORE;
}

/**
 * Characters that join digits into one larger numeric token when they sit between two digits: dates
 * (`2024-03-15`, `15/03/2024`), times (`14:22:05`), versions and IPv4 addresses (`1.2.3.4`), ranges.
 */
export function isJoiner(c: number): boolean {
  return c === DASH || c === DOT || c === SLASH || c === COLON;
}
