/**
 * Strict base64 decoding. `Buffer.from(s, 'base64')` silently skips characters it does not know and ignores
 * non-zero trailing bits, so a typo'd key or a tampered envelope field would still decode to *something*. These
 * helpers accept only the canonical encoding: decode, re-encode, and compare.
 */

const BASE64URL = /^[A-Za-z0-9_-]*$/;
const BASE64_STD = /^[A-Za-z0-9+/]*$/;

/** Decodes unpadded base64url (the envelope alphabet). Returns undefined for anything non-canonical. */
export function decodeBase64Url(text: string): Buffer | undefined {
  if (!BASE64URL.test(text) || text.length % 4 === 1) return undefined;
  const bytes = Buffer.from(text, 'base64url');
  return bytes.toString('base64url') === text ? bytes : undefined;
}

/**
 * Decodes standard base64 (padded or not) or base64url (padded or not), the forms an operator is likely to paste
 * into an environment variable. Mixed alphabets, bad padding and non-canonical trailing bits are refused.
 */
export function decodeBase64Lenient(text: string): Buffer | undefined {
  const padding = /=*$/.exec(text)?.[0].length ?? 0;
  const body = text.slice(0, text.length - padding);
  if (padding > 2 || (padding > 0 && text.length % 4 !== 0)) return undefined;
  if (BASE64URL.test(body)) return decodeBase64Url(body);
  if (BASE64_STD.test(body)) return decodeBase64Url(body.replaceAll('+', '-').replaceAll('/', '_'));
  return undefined;
}
