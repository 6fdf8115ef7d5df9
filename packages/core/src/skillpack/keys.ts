import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
  verify,
} from 'node:crypto';
import { SkillPackError } from './errors.js';

/** Ed25519 public keys are 32 bytes; signatures 64. */
const PUBLIC_KEY_BYTES = 32;
const SIGNATURE_BYTES = 64;

/** A fresh signing pair as PEM text: PKCS#8 private key, SPKI public key (what `rampart keys generate` writes). */
export function generateSigningKeyPair(): { privateKeyPem: string; publicKeyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

/**
 * Reads an Ed25519 public key given as SPKI PEM (a `.pub` file from `rampart keys generate`) or as the raw
 * 32 bytes in base64/base64url. Returns the raw 32 bytes.
 * @throws {SkillPackError} `untrusted_key` when it is not an Ed25519 public key.
 */
export function parsePublicKey(text: string): Buffer {
  const trimmed = text.trim();
  // createPublicKey would happily derive the public half of a private key: refuse it, it must not be uploaded.
  if (/PRIVATE KEY/.test(trimmed))
    throw new SkillPackError('untrusted_key', 'this is a private key; give the public key (the .pub file)');
  let key: KeyObject;
  try {
    if (trimmed.startsWith('-----BEGIN')) {
      key = createPublicKey({ key: trimmed, format: 'pem' });
    } else {
      const raw = Buffer.from(trimmed, /[-_]/.test(trimmed) ? 'base64url' : 'base64');
      if (raw.length !== PUBLIC_KEY_BYTES || !/^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed))
        throw new Error('length');
      key = publicKeyObject(raw);
    }
  } catch {
    throw new SkillPackError(
      'untrusted_key',
      'not an Ed25519 public key (give the .pub file or 32 bytes in base64)',
    );
  }
  if (key.asymmetricKeyType !== 'ed25519')
    throw new SkillPackError(
      'untrusted_key',
      `not an Ed25519 public key (got ${key.asymmetricKeyType ?? 'unknown'})`,
    );
  return rawPublicKey(key);
}

/**
 * Reads an Ed25519 private key (PKCS#8 PEM). Never includes the key text in an error.
 * @throws {SkillPackError} `untrusted_key` when it is not an Ed25519 private key.
 */
export function parsePrivateKey(pem: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: 'pem' });
  } catch {
    throw new SkillPackError(
      'untrusted_key',
      'not a PEM private key (make one with `rampart keys generate`)',
    );
  }
  if (key.asymmetricKeyType !== 'ed25519')
    throw new SkillPackError(
      'untrusted_key',
      `the signing key must be Ed25519 (got ${key.asymmetricKeyType ?? 'unknown'})`,
    );
  return key;
}

function publicKeyObject(raw: Uint8Array): KeyObject {
  return createPublicKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(raw).toString('base64url') },
    format: 'jwk',
  });
}

function rawPublicKey(key: KeyObject): Buffer {
  const jwk = key.export({ format: 'jwk' });
  return Buffer.from(jwk.x ?? '', 'base64url');
}

/** The raw public half of a private key. */
export function publicKeyOf(privateKey: KeyObject): Buffer {
  return rawPublicKey(createPublicKey(privateKey));
}

/**
 * A key's id: the first 16 bytes of SHA-256 over the raw public key, in hex. Short enough to show and compare,
 * long enough that no two keys an org registers collide.
 */
export function keyIdOf(rawPublicKey: Uint8Array): string {
  return createHash('sha256').update(rawPublicKey).digest('hex').slice(0, 32);
}

/** Ed25519 signature (RFC 8032, pure Ed25519: no pre-hash, no context). */
export function ed25519Sign(privateKey: KeyObject, message: Uint8Array): Buffer {
  return sign(null, message, privateKey);
}

/**
 * Verifies an Ed25519 signature. `false` (never a throw) for a wrong length, a malformed key or a bad signature.
 * Node's OpenSSL rejects non-canonical S (s >= L), which is what stops signature malleability.
 */
export function ed25519Verify(rawPublicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (rawPublicKey.length !== PUBLIC_KEY_BYTES || signature.length !== SIGNATURE_BYTES) return false;
  try {
    return verify(null, message, publicKeyObject(rawPublicKey), signature);
  } catch {
    return false;
  }
}
