import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { SealError } from './errors.js';
import { KeyRing } from './keyring.js';
import { openString } from './open.js';
import { seal } from './seal.js';

const ctx = { orgId: 'org_1', table: 't', column: 'c', rowId: 'r' };
// Fixed keys whose encodings exercise both alphabets: '+' and '/' in standard base64, '-' and '_' in base64url.
const K1 = Buffer.from(`fbff${'ab'.repeat(28)}fbff`, 'hex');
const K2 = Buffer.from('cd'.repeat(32), 'hex');
const K3 = Buffer.from('ef'.repeat(32), 'hex');
const b64 = (k: Buffer) => k.toString('base64');
const b64url = (k: Buffer) => k.toString('base64url');

function refusal(spec: string): SealError {
  try {
    KeyRing.parse(spec);
  } catch (err) {
    expect(err).toBeInstanceOf(SealError);
    expect((err as SealError).code).toBe('invalid_key_ring');
    return err as SealError;
  }
  throw new Error('expected the key ring to be refused');
}

describe('KeyRing.parse accepts', () => {
  it('a single key', () => {
    const ring = KeyRing.parse(`k1:${b64(K1)}`);
    expect(ring.primaryId).toBe('k1');
    expect(ring.ids).toEqual(['k1']);
  });

  it('several keys, the first being the primary', () => {
    const ring = KeyRing.parse(`k3:${b64(K3)},k2:${b64(K2)},k1:${b64(K1)}`);
    expect(ring.primaryId).toBe('k3');
    expect(ring.ids).toEqual(['k3', 'k2', 'k1']);
    expect([ring.has('k1'), ring.has('k2'), ring.has('k3'), ring.has('k4')]).toEqual([
      true,
      true,
      true,
      false,
    ]);
  });

  it('whitespace and newlines around entries', () => {
    const ring = KeyRing.parse(`\n  k2:${b64(K2)} ,\n\tk1:${b64(K1)}  \n`);
    expect(ring.ids).toEqual(['k2', 'k1']);
  });

  it('standard base64 with or without padding, and base64url with or without padding', () => {
    expect(b64(K1)).toMatch(/[+/]/);
    expect(b64url(K1)).toMatch(/[-_]/);
    const variants = [b64(K1), b64(K1).replace(/=+$/, ''), b64url(K1), `${b64url(K1)}=`];
    const sealed = seal(KeyRing.fromKeys([{ id: 'k1', key: K1 }]), 'secret', ctx);
    for (const text of variants) {
      expect(openString(KeyRing.parse(`k1:${text}`), sealed, ctx)).toBe('secret');
    }
  });

  it('ids of 1 to 32 characters of A-Z a-z 0-9 _ -', () => {
    const ring = KeyRing.parse(`a:${b64(K1)},${'Z'.repeat(32)}:${b64(K2)},2025-01_rot:${b64(K3)}`);
    expect(ring.ids).toEqual(['a', 'Z'.repeat(32), '2025-01_rot']);
  });
});

describe('KeyRing.parse refuses', () => {
  const good = `k1:${b64(K1)}`;
  it.each([
    ['an empty spec', '', /^key ring is empty/],
    ['a blank spec', '  \n ', /^key ring is empty/],
    ['a lone comma', ',', /^entry 1: empty entry/],
    ['a trailing comma', `${good},`, /^entry 2: empty entry/],
    ['an entry without a colon', `${good},${b64(K2)}`, /^entry 2: expected id:base64key$/],
    ['an empty id', `:${b64(K1)}`, /^entry 1: key id must be/],
    ['an id with a dot', `k.1:${b64(K1)}`, /^entry 1: key id must be/],
    ['an id with a space', `k 1:${b64(K1)}`, /^entry 1: key id must be/],
    ['an id of 33 characters', `${'a'.repeat(33)}:${b64(K1)}`, /^entry 1: key id must be/],
    ['an empty key', 'k1:', /^entry 1: key must be 32 bytes$/],
    ['a 31-byte key', `${good},k2:${b64(K2.subarray(1))}`, /^entry 2: key must be 32 bytes$/],
    ['a 33-byte key', `k1:${b64(Buffer.concat([K1, Buffer.alloc(1)]))}`, /^entry 1: key must be 32 bytes$/],
    ['a 16-byte (AES-128) key', `k1:${b64(K1.subarray(0, 16))}`, /^entry 1: key must be 32 bytes$/],
    ['a hex key', `k1:${K1.toString('hex')}`, /^entry 1: key must be 32 bytes$/],
    ['garbage', 'k1:!!!not-base64!!!', /^entry 1: key is not valid base64$/],
    [
      'junk node would skip',
      `k1:${b64(K1).slice(0, 20)}*${b64(K1).slice(20)}`,
      /^entry 1: key is not valid base64$/,
    ],
    [
      'whitespace inside the key',
      `k1:${b64(K1).slice(0, 20)} ${b64(K1).slice(20)}`,
      /^entry 1: key is not valid base64$/,
    ],
    ['mixed base64 alphabets', `k1:${b64(K1).replace('+', '-')}`, /^entry 1: key is not valid base64$/],
    [
      'non-canonical trailing bits',
      `k1:${b64(K1).replace(/.=$/, 'B=')}`,
      /^entry 1: key is not valid base64$/,
    ],
    ['bad padding', `k1:${b64(K1)}==`, /^entry 1: key is not valid base64$/],
    ['a duplicate id', `k1:${b64(K1)},k2:${b64(K2)},k1:${b64(K3)}`, /^entry 3: key id duplicates entry 1$/],
    [
      'the same key under two ids',
      `k1:${b64(K1)},k2:${b64(K2)},k3:${b64url(K1)}`,
      /^entry 3: key material duplicates entry 1$/,
    ],
  ])('%s', (_name, spec, message) => {
    const err = refusal(spec);
    expect(err.message).toMatch(message);
    for (const key of [K1, K2, K3]) {
      for (const text of [b64(key), b64url(key), b64(key).slice(0, 12), key.toString('hex')]) {
        expect(err.message).not.toContain(text);
        expect(JSON.stringify(err)).not.toContain(text);
      }
    }
  });

  it('names the entry in `reason` too', () => {
    expect(refusal(`k1:${b64(K1)},k2:AAAA`).reason).toBe('entry 2');
  });

  it('does not echo a malformed id (it may be a key pasted in the wrong place)', () => {
    const err = refusal(`${b64(K2)}:${b64(K1)}`);
    expect(err.message).not.toContain(b64(K2));
    expect(err.message).not.toContain(b64(K2).slice(0, 8));
  });
});

describe('KeyRing.fromKeys', () => {
  it('copies the key bytes', () => {
    const key = Buffer.from(K1);
    const ring = KeyRing.fromKeys([{ id: 'k1', key }]);
    const sealed = seal(ring, 'secret', ctx);
    key.fill(0);
    expect(openString(ring, sealed, ctx)).toBe('secret');
    expect(openString(KeyRing.fromKeys([{ id: 'k1', key: K1 }]), sealed, ctx)).toBe('secret');
  });

  it('accepts plain Uint8Arrays', () => {
    expect(KeyRing.fromKeys([{ id: 'k1', key: new Uint8Array(K1) }]).ids).toEqual(['k1']);
  });

  it.each([
    ['no keys', []],
    ['a short key', [{ id: 'k1', key: new Uint8Array(16) }]],
    ['a bad id', [{ id: 'k/1', key: K1 }]],
    [
      'a duplicate id',
      [
        { id: 'k1', key: K1 },
        { id: 'k1', key: K2 },
      ],
    ],
    [
      'duplicate key material',
      [
        { id: 'k1', key: K1 },
        { id: 'k2', key: Buffer.from(K1) },
      ],
    ],
    ['a non-byte key', [{ id: 'k1', key: b64(K1) as unknown as Uint8Array }]],
  ])('refuses %s', (_name, keys) => {
    expect(() => KeyRing.fromKeys(keys)).toThrow(expect.objectContaining({ code: 'invalid_key_ring' }));
  });
});

describe('KeyRing keys', () => {
  it('generateKey gives 32 fresh random bytes', () => {
    const a = KeyRing.generateKey();
    const b = KeyRing.generateKey();
    expect(a.length).toBe(32);
    expect(a.equals(b)).toBe(false);
  });

  it('keyFor throws unknown_key for ids not in the ring', () => {
    const ring = KeyRing.fromKeys([{ id: 'k1', key: K1 }]);
    expect(ring.keyFor('k1').equals(K1)).toBe(true);
    expect(() => ring.keyFor('k2')).toThrow(expect.objectContaining({ code: 'unknown_key' }));
  });

  it('ids cannot be used to alter the ring', () => {
    const ring = KeyRing.fromKeys([{ id: 'k1', key: K1 }]);
    expect(() => (ring.ids as string[]).push('k2')).toThrow(TypeError);
    expect(ring.has('k2')).toBe(false);
  });
});

describe('key material never leaks through logging', () => {
  const ring = KeyRing.parse(`k2:${b64(K2)},k1:${b64(K1)}`);
  const renderings = () => [
    JSON.stringify(ring),
    JSON.stringify({ config: { ring } }),
    inspect(ring),
    inspect(ring, { showHidden: true, depth: Number.POSITIVE_INFINITY, getters: true }),
    inspect({ nested: [ring] }, { depth: Number.POSITIVE_INFINITY }),
    String(ring),
    `${ring}`,
    Object.keys(ring).join(','),
  ];

  it('JSON.stringify and util.inspect show only ids', () => {
    expect(JSON.parse(JSON.stringify(ring))).toEqual({ primaryId: 'k2', ids: ['k2', 'k1'] });
    expect(inspect(ring)).toContain('k2');
    for (const text of renderings()) {
      for (const key of [K1, K2]) {
        for (const encoded of [b64(key), b64url(key), key.toString('hex'), b64(key).slice(0, 12)]) {
          expect(text).not.toContain(encoded);
        }
      }
      // Buffer's inspect form would print `<Buffer fb ff ab ...>`.
      expect(text).not.toMatch(/Buffer|fb ff ab|cd cd cd/);
    }
  });
});
