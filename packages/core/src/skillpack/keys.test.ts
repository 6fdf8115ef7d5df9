/**
 * Known-answer vectors, run by loops:
 * - Project Wycheproof Ed25519 (test/vectors/wycheproof/ed25519_test.json): every case through ed25519Verify.
 * - RFC 8032 section 7.1 TEST 1, 2 and 3 (secret key, public key, message, signature).
 */
import { createHash, createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hex, loadWycheproof, type WycheproofTest } from '../../../../test/vectors.js';
import { SkillPackError } from './errors.js';
import {
  ed25519Sign,
  ed25519Verify,
  generateSigningKeyPair,
  keyIdOf,
  parsePrivateKey,
  parsePublicKey,
  publicKeyOf,
} from './keys.js';

const file = loadWycheproof('wycheproof/ed25519_test.json');
const executed = { valid: 0, invalid: 0 };
const expected = { valid: 0, invalid: 0 };
for (const g of file.testGroups) for (const t of g.tests) expected[t.result as 'valid' | 'invalid'] += 1;

describe('Wycheproof Ed25519 (ed25519_test.json)', () => {
  it('is the expected file', () => {
    expect(file.algorithm).toBe('EDDSA');
    expect(file.numberOfTests).toBe(151);
    expect(file.testGroups.reduce((n, g) => n + g.tests.length, 0)).toBe(file.numberOfTests);
    expect(expected).toEqual({ valid: 88, invalid: 63 });
  });

  for (const [i, group] of file.testGroups.entries()) {
    const pk = hex((group.publicKey as { pk: string }).pk);
    describe(`group ${i} (pk ${pk.toString('hex').slice(0, 16)}…)`, () => {
      it.each(group.tests.map((t): [number, string, WycheproofTest] => [t.tcId, t.result, t]))(
        'tcId %i (%s)',
        (_tcId, _result, t) => {
          const ok = ed25519Verify(pk, hex(t.msg), hex(t.sig));
          if (t.result === 'valid') {
            expect(ok).toBe(true);
            executed.valid += 1;
          } else if (t.result === 'invalid') {
            expect(ok).toBe(false);
            executed.invalid += 1;
          } else {
            throw new Error(`unhandled Wycheproof result "${t.result}" in tcId ${t.tcId}`);
          }
        },
      );
    });
  }

  it('ran every case (runs last)', () => {
    expect(executed).toEqual(expected);
    expect(executed.valid + executed.invalid).toBe(file.numberOfTests);
  });
});

// RFC 8032 section 7.1.
const RFC8032 = [
  {
    name: 'TEST 1',
    secret: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    public: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    message: '',
    signature:
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  },
  {
    name: 'TEST 2',
    secret: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    public: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    message: '72',
    signature:
      '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
  },
  {
    name: 'TEST 3',
    secret: 'c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7',
    public: 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
    message: 'af82',
    signature:
      '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a',
  },
];

const privateFromRaw = (secretHex: string, publicHex: string): KeyObject =>
  createPrivateKey({
    key: {
      kty: 'OKP',
      crv: 'Ed25519',
      d: hex(secretHex).toString('base64url'),
      x: hex(publicHex).toString('base64url'),
    },
    format: 'jwk',
  });

describe('RFC 8032 section 7.1', () => {
  it.each(RFC8032)('$name', (v) => {
    const key = privateFromRaw(v.secret, v.public);
    expect(publicKeyOf(key).toString('hex')).toBe(v.public);
    expect(ed25519Sign(key, hex(v.message)).toString('hex')).toBe(v.signature);
    expect(ed25519Verify(hex(v.public), hex(v.message), hex(v.signature))).toBe(true);
    // The key survives a PKCS#8 PEM round trip through parsePrivateKey.
    const pem = key.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(ed25519Sign(parsePrivateKey(pem), hex(v.message)).toString('hex')).toBe(v.signature);
  });
});

describe('ed25519Verify never throws', () => {
  const v = RFC8032[1] as (typeof RFC8032)[number];
  const [pk, msg, sig] = [hex(v.public), hex(v.message), hex(v.signature)];

  it('is false for wrong lengths, a flipped bit, another message or another key', () => {
    expect(ed25519Verify(pk.subarray(0, 31), msg, sig)).toBe(false);
    expect(ed25519Verify(Buffer.concat([pk, Buffer.alloc(1)]), msg, sig)).toBe(false);
    expect(ed25519Verify(pk, msg, sig.subarray(0, 63))).toBe(false);
    expect(ed25519Verify(pk, msg, Buffer.concat([sig, Buffer.alloc(1)]))).toBe(false);
    expect(ed25519Verify(pk, msg, Buffer.alloc(0))).toBe(false);
    expect(ed25519Verify(new Uint8Array(0), msg, sig)).toBe(false);
    const flipped = Buffer.from(sig);
    flipped[10] = (flipped[10] ?? 0) ^ 1;
    expect(ed25519Verify(pk, msg, flipped)).toBe(false);
    expect(ed25519Verify(pk, hex('73'), sig)).toBe(false);
    expect(ed25519Verify(hex((RFC8032[0] as (typeof RFC8032)[number]).public), msg, sig)).toBe(false);
  });
});

/** Expects `untrusted_key` and checks the message does not echo any of `secrets`. */
function refusedKey(run: () => unknown, secrets: string[]): SkillPackError {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(SkillPackError);
    const e = err as SkillPackError;
    expect(e.code).toBe('untrusted_key');
    for (const s of secrets) if (s.length > 0) expect(e.message).not.toContain(s);
    expect(JSON.stringify(e.details)).toBe('{}');
    return e;
  }
  throw new Error('expected untrusted_key');
}

/** Pieces of an input that an error message must not contain (each base64 line of a PEM, or the whole input). */
const fragments = (text: string) =>
  text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length >= 8 && !l.startsWith('-----'));

describe('parsePublicKey', () => {
  const pair = generateSigningKeyPair();
  const raw = publicKeyOf(parsePrivateKey(pair.privateKeyPem));

  it('accepts SPKI PEM, raw base64 and base64url of the 32 bytes, with surrounding whitespace', () => {
    expect(raw).toHaveLength(32);
    expect(parsePublicKey(pair.publicKeyPem).equals(raw)).toBe(true);
    expect(parsePublicKey(`\n  ${pair.publicKeyPem}\n\n`).equals(raw)).toBe(true);
    expect(parsePublicKey(raw.toString('base64')).equals(raw)).toBe(true);
    expect(parsePublicKey(raw.toString('base64').replace(/=+$/, '')).equals(raw)).toBe(true);
    expect(parsePublicKey(`${raw.toString('base64url')}\n`).equals(raw)).toBe(true);
    // A key whose base64 form holds "+" or "/" and whose base64url form holds "-" or "_".
    let other = raw;
    for (let i = 0; i < 200 && !/[+/]/.test(other.toString('base64')); i++)
      other = parsePublicKey(generateSigningKeyPair().publicKeyPem);
    expect(other.toString('base64url')).toMatch(/[-_]/);
    expect(parsePublicKey(other.toString('base64')).equals(other)).toBe(true);
    expect(parsePublicKey(other.toString('base64url')).equals(other)).toBe(true);
  });

  it('refuses RSA, EC and X25519 PEM keys, naming only the key type', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({
      type: 'spki',
      format: 'pem',
    });
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({
      type: 'spki',
      format: 'pem',
    });
    const x = generateKeyPairSync('x25519').publicKey.export({ type: 'spki', format: 'pem' });
    for (const [pem, type] of [
      [rsa.toString(), 'rsa'],
      [ec.toString(), 'ec'],
      [x.toString(), 'x25519'],
    ] as const) {
      const e = refusedKey(() => parsePublicKey(pem), fragments(pem));
      expect(e.message).toContain(`(got ${type})`);
    }
  });

  it.each([
    ['31 bytes', Buffer.alloc(31, 7).toString('base64')],
    ['33 bytes', Buffer.alloc(33, 7).toString('base64')],
    ['33 bytes base64url', Buffer.alloc(33, 0xff).toString('base64url')],
    ['64 bytes (a signature, not a key)', Buffer.alloc(64, 9).toString('hex')],
    ['hex of 32 bytes', Buffer.alloc(32, 9).toString('hex')],
    ['garbage', 'not-a-key-at-all-just-some-words'],
    ['empty', ''],
    ['spaces', '   '],
    ['base64 with junk inside', `${Buffer.alloc(32, 5).toString('base64').slice(0, 20)}!!${'A'.repeat(22)}`],
    ['broken PEM', '-----BEGIN PUBLIC KEY-----\nAAAAsecretsecretsecret\n-----END PUBLIC KEY-----'],
  ])('refuses %s without echoing it', (_label, text) => {
    refusedKey(() => parsePublicKey(text), [text.trim(), ...fragments(text)]);
  });
});

describe('parsePrivateKey', () => {
  it('reads the PKCS#8 PEM that generateSigningKeyPair writes', () => {
    const pair = generateSigningKeyPair();
    expect(pair.privateKeyPem).toContain('-----BEGIN PRIVATE KEY-----');
    expect(pair.publicKeyPem).toContain('-----BEGIN PUBLIC KEY-----');
    const key = parsePrivateKey(pair.privateKeyPem);
    expect(key.type).toBe('private');
    expect(key.asymmetricKeyType).toBe('ed25519');
    const sig = ed25519Sign(key, Buffer.from('hello'));
    expect(ed25519Verify(parsePublicKey(pair.publicKeyPem), Buffer.from('hello'), sig)).toBe(true);
  });

  it('refuses RSA and EC private keys without echoing them', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    for (const [key, type] of [
      [rsa, 'rsa'],
      [ec, 'ec'],
    ] as const) {
      const pem = key.export({ type: 'pkcs8', format: 'pem' }).toString();
      const e = refusedKey(() => parsePrivateKey(pem), fragments(pem));
      expect(e.message).toContain(`(got ${type})`);
    }
  });

  it.each([
    ['garbage', 'correct horse battery staple'],
    ['empty', ''],
    ['a public key', generateSigningKeyPair().publicKeyPem],
    ['a truncated private key', generateSigningKeyPair().privateKeyPem.slice(0, 60)],
  ])('refuses %s without echoing it', (_label, text) => {
    refusedKey(() => parsePrivateKey(text), [text.trim(), ...fragments(text)]);
  });
});

describe('keyIdOf', () => {
  it('is the first 16 bytes of SHA-256 of the raw key, as 32 lower-case hex characters, and stable', () => {
    const pk = hex((RFC8032[0] as (typeof RFC8032)[number]).public);
    const id = keyIdOf(pk);
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(id).toBe(createHash('sha256').update(pk).digest('hex').slice(0, 32));
    expect(keyIdOf(Buffer.from(pk))).toBe(id);
    expect(keyIdOf(new Uint8Array(pk))).toBe(id);
    const pair = generateSigningKeyPair();
    const fromPub = keyIdOf(parsePublicKey(pair.publicKeyPem));
    expect(keyIdOf(publicKeyOf(parsePrivateKey(pair.privateKeyPem)))).toBe(fromPub);
    expect(fromPub).not.toBe(id);
  });
});

describe('parsePublicKey and private keys', () => {
  // Regression (found in review, fixed): given a PKCS#8 *private* key PEM, parsePublicKey derives and returns its public half instead of
  // refusing. Whoever registers a trusted key by pasting the wrong file gets no error, and any caller that keeps
  // the submitted text now holds a private signing key. Expected: `untrusted_key`.
  it('refuses a private key PEM', () => {
    const pair = generateSigningKeyPair();
    refusedKey(() => parsePublicKey(pair.privateKeyPem), fragments(pair.privateKeyPem));
  });
});
