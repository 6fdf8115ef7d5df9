/**
 * PBKDF2-HMAC-SHA256 on WebCrypto, the one derivation the connection envelope uses. Kept as its own function so
 * the published Wycheproof vectors run against exactly the call the envelope makes (password bytes, salt,
 * iteration count, output length).
 */
export async function pbkdf2Sha256(
  password: Uint8Array,
  salt: Uint8Array,
  iterations: number,
  lengthBytes: number,
): Promise<Uint8Array<ArrayBuffer>> {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) throw new Error('WebCrypto (crypto.subtle) is not available');
  const base = await subtle.importKey('raw', new Uint8Array(password), 'PBKDF2', false, ['deriveBits']);
  const bits = await subtle.deriveBits(
    { name: 'PBKDF2', hash: 'SHA-256', salt: new Uint8Array(salt), iterations },
    base,
    lengthBytes * 8,
  );
  return new Uint8Array(bits);
}
