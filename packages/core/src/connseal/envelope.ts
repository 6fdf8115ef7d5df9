/**
 * Zero-knowledge connection strings: sealed on the client (CLI, or the dashboard in the browser) under a key
 * derived from the user's API key, so the server stores only ciphertext and can open it only while a request
 * presents that API key. One implementation on WebCrypto (`globalThis.crypto.subtle`), so Node and browsers
 * produce interoperable envelopes.
 *
 * Format (JSON): `{v: 1, ciphertext, salt, iv, kdf: {name: "PBKDF2", hash: "SHA-256", iterations}}`, binary
 * fields base64. Key: PBKDF2-HMAC-SHA256(apiKey UTF-8, salt (16 random bytes), iterations ≥ 600,000) → 256
 * bits. Cipher: AES-256-GCM, 12-byte random IV, 128-bit tag appended to the ciphertext, additional data
 * `rampart-connection-v1`. The server authenticates API keys with a domain-separated SHA-256 (no salt, no
 * stretching), which is useless for this derivation: knowing the stored hash does not give the key.
 */
import { pbkdf2Sha256 } from './lib/kdf.js';

export const MIN_ITERATIONS = 600_000;
export const CONNECTION_ENVELOPE_AAD = 'rampart-connection-v1';
const SALT_BYTES = 16;
const IV_BYTES = 12;

export interface ConnectionEnvelope {
  v: 1;
  ciphertext: string;
  salt: string;
  iv: string;
  kdf: { name: 'PBKDF2'; hash: 'SHA-256'; iterations: number };
}

const subtle = () => {
  const s = globalThis.crypto?.subtle;
  if (!s) throw new Error('WebCrypto (crypto.subtle) is not available');
  return s;
};
const b64 = (bytes: Uint8Array): string => {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
};
const unb64 = (s: string): Uint8Array<ArrayBuffer> => {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
};
const utf8 = new TextEncoder();
/** An ArrayBuffer-backed copy: WebCrypto's DOM typings refuse views that might sit on a SharedArrayBuffer. */
const own = (u: Uint8Array): Uint8Array<ArrayBuffer> => new Uint8Array(u);

type AesKey = Awaited<ReturnType<typeof globalThis.crypto.subtle.deriveKey>>;

async function deriveKey(apiKey: string, salt: Uint8Array, iterations: number): Promise<AesKey> {
  const raw = await pbkdf2Sha256(utf8.encode(apiKey), salt, iterations, 32);
  return subtle().importKey('raw', raw, { name: 'AES-GCM' }, false, ['encrypt', 'decrypt']);
}

/**
 * Seals a connection string under `apiKey`. `salt` and `iv` are random unless given (test vectors only).
 * @throws RangeError for fewer than 600,000 iterations or a wrong salt/IV length
 */
export async function sealConnection(
  apiKey: string,
  connectionString: string,
  opts: { iterations?: number; salt?: Uint8Array; iv?: Uint8Array } = {},
): Promise<ConnectionEnvelope> {
  const iterations = opts.iterations ?? MIN_ITERATIONS;
  if (!Number.isInteger(iterations) || iterations < MIN_ITERATIONS)
    throw new RangeError(`PBKDF2 iterations must be at least ${MIN_ITERATIONS}`);
  const salt = opts.salt ?? globalThis.crypto.getRandomValues(new Uint8Array(SALT_BYTES));
  const iv = opts.iv ?? globalThis.crypto.getRandomValues(new Uint8Array(IV_BYTES));
  if (salt.length !== SALT_BYTES || iv.length !== IV_BYTES)
    throw new RangeError('salt must be 16 bytes and iv 12');
  const key = await deriveKey(apiKey, salt, iterations);
  const ct = await subtle().encrypt(
    { name: 'AES-GCM', iv: own(iv), additionalData: utf8.encode(CONNECTION_ENVELOPE_AAD), tagLength: 128 },
    key,
    utf8.encode(connectionString),
  );
  return {
    v: 1,
    ciphertext: b64(new Uint8Array(ct)),
    salt: b64(salt),
    iv: b64(iv),
    kdf: { name: 'PBKDF2', hash: 'SHA-256', iterations },
  };
}

/**
 * Opens an envelope with the API key presented now. Refuses envelopes weaker than the minimum (a downgraded
 * iteration count) and anything malformed; a wrong key or any tampering fails authentication.
 * @throws Error('connection envelope: ...') without echoing any input
 */
export async function openConnection(apiKey: string, env: ConnectionEnvelope): Promise<string> {
  if (
    env?.v !== 1 ||
    env.kdf?.name !== 'PBKDF2' ||
    env.kdf.hash !== 'SHA-256' ||
    !Number.isInteger(env.kdf.iterations) ||
    env.kdf.iterations < MIN_ITERATIONS ||
    env.kdf.iterations > 10_000_000
  )
    throw new Error('connection envelope: unsupported format or KDF parameters');
  let salt: Uint8Array<ArrayBuffer>;
  let iv: Uint8Array<ArrayBuffer>;
  let ct: Uint8Array<ArrayBuffer>;
  try {
    salt = unb64(env.salt);
    iv = unb64(env.iv);
    ct = unb64(env.ciphertext);
  } catch {
    throw new Error('connection envelope: fields are not base64');
  }
  if (salt.length !== SALT_BYTES || iv.length !== IV_BYTES || ct.length < 17)
    throw new Error('connection envelope: wrong field lengths');
  const key = await deriveKey(apiKey, salt, env.kdf.iterations);
  try {
    const pt = await subtle().decrypt(
      { name: 'AES-GCM', iv: own(iv), additionalData: utf8.encode(CONNECTION_ENVELOPE_AAD), tagLength: 128 },
      key,
      ct,
    );
    return new TextDecoder('utf-8', { fatal: true }).decode(pt);
  } catch {
    throw new Error('connection envelope: cannot be opened with this API key (wrong key or tampered)');
  }
}
