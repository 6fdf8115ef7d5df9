/**
 * Known-answer vectors, run by loops:
 * - Project Wycheproof HMAC-SHA256 (test/vectors/wycheproof/hmac_sha256_test.json, see test/vectors/README.md): every case.
 * - RFC 4231 section 4 (HMAC-SHA256 outputs of test cases 1-4, 6 and 7; case 5 is a 128-bit truncation, which
 *   the Wycheproof tagSize 128 groups cover).
 * - The Standard Webhooks reference vector (spec repository, quoted in issue 7).
 */
import { describe, expect, it } from 'vitest';
import { hex, loadWycheproof, type WycheproofTest } from '../../../../test/vectors.js';
import { hmacSha256 } from './lib/hmac.js';
import { signStandardWebhook } from './sign.js';
import { signHmacHex } from './sign-hmac-hex.js';
import { verifyStandardWebhook } from './verify.js';
import { verifyHmacHex } from './verify-hmac-hex.js';

const file = loadWycheproof('wycheproof/hmac_sha256_test.json');

/** Counts what actually ran, so a vector silently skipped or filtered out fails the suite. */
const executed = { valid: 0, invalid: 0 };

describe('Wycheproof HMAC-SHA256 (hmac_sha256_test.json)', () => {
  it('is the expected file', () => {
    expect(file.algorithm).toBe('HMACSHA256');
    expect(file.numberOfTests).toBe(174);
    expect(file.testGroups.reduce((n, g) => n + g.tests.length, 0)).toBe(file.numberOfTests);
  });

  for (const group of file.testGroups) {
    const tagBits = Number(group.tagSize);
    const tagBytes = tagBits / 8;
    describe(`key ${String(group.keySize)} bits, tag ${tagBits} bits`, () => {
      it.each(group.tests.map((t): [number, string, WycheproofTest] => [t.tcId, t.result, t]))(
        'tcId %i (%s)',
        (_tcId, _result, t) => {
          expect(Number.isInteger(tagBytes) && tagBytes > 0 && tagBytes <= 32).toBe(true);
          const [key, msg, tag] = [t.key, t.msg, t.tag].map(hex) as [Buffer, Buffer, Buffer];
          const truncated = hmacSha256(key, msg).subarray(0, tagBytes).toString('hex');
          // The public hex signer must agree with the primitive on every input.
          expect(signHmacHex(key, msg).slice(0, tagBytes * 2)).toBe(truncated);
          // The public verifier accepts only full 256-bit tags: a truncated tag is refused even when correct.
          expect(verifyHmacHex(key, msg, tag.toString('hex'))).toBe(t.result === 'valid' && tagBits === 256);
          if (t.result === 'valid') {
            expect(truncated).toBe(tag.toString('hex'));
            executed.valid += 1;
          } else if (t.result === 'invalid') {
            expect(truncated).not.toBe(tag.toString('hex'));
            executed.invalid += 1;
          } else {
            throw new Error(`unhandled Wycheproof result "${t.result}" in tcId ${t.tcId}`);
          }
        },
      );
    });
  }

  // Vitest runs a file's tests in declaration order, so this sees every case above.
  it('executed every vector in the file', () => {
    expect(executed.valid + executed.invalid).toBe(file.numberOfTests);
    expect(executed).toEqual({ valid: 66, invalid: 108 });
  });
});

describe('RFC 4231 HMAC-SHA256', () => {
  const cases: Array<[name: string, key: Buffer, data: Buffer, mac: string]> = [
    [
      'test case 1',
      Buffer.alloc(20, 0x0b),
      Buffer.from('Hi There'),
      'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7',
    ],
    [
      'test case 2 (key shorter than the output)',
      Buffer.from('Jefe'),
      Buffer.from('what do ya want for nothing?'),
      '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    ],
    [
      'test case 3 (50 bytes of 0xdd)',
      Buffer.alloc(20, 0xaa),
      Buffer.alloc(50, 0xdd),
      '773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe',
    ],
    [
      'test case 4 (25-byte key 0x01..0x19)',
      Buffer.from('0102030405060708090a0b0c0d0e0f10111213141516171819', 'hex'),
      Buffer.alloc(50, 0xcd),
      '82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b',
    ],
    [
      'test case 6 (131-byte key, hashed first)',
      Buffer.alloc(131, 0xaa),
      Buffer.from('Test Using Larger Than Block-Size Key - Hash Key First'),
      '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54',
    ],
    [
      'test case 7 (131-byte key and data longer than a block)',
      Buffer.alloc(131, 0xaa),
      Buffer.from(
        'This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.',
      ),
      '9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2',
    ],
  ];

  it.each(cases)('%s', (_name, key, data, mac) => {
    expect(hmacSha256(key, data).toString('hex')).toBe(mac);
    expect(signHmacHex(key, data)).toBe(mac);
    expect(verifyHmacHex(key, data, mac)).toBe(true);
    // Fed in pieces (as the Standard Webhooks content is), the MAC is the same.
    expect(hmacSha256(key, data.subarray(0, 7), data.subarray(7)).toString('hex')).toBe(mac);
  });

  it('string secrets and bodies are their UTF-8 bytes (test case 2 with strings)', () => {
    expect(signHmacHex('Jefe', 'what do ya want for nothing?')).toBe(cases[1]?.[3]);
  });
});

describe('Standard Webhooks reference vector', () => {
  const vector = {
    secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
    id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
    timestamp: 1614265330,
    body: '{"test": 2432232314}',
  };
  const signature = 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=';

  it('signs to the published signature (string and byte body)', () => {
    expect(signStandardWebhook(vector)).toBe(signature);
    expect(signStandardWebhook({ ...vector, body: Buffer.from(vector.body) })).toBe(signature);
  });

  it('verifies the published signature at its own timestamp', () => {
    const headers = {
      'webhook-id': vector.id,
      'webhook-timestamp': String(vector.timestamp),
      'webhook-signature': signature,
    };
    expect(
      verifyStandardWebhook({
        secret: vector.secret,
        headers,
        body: vector.body,
        now: vector.timestamp * 1000,
      }),
    ).toEqual({ id: vector.id, timestamp: vector.timestamp });
  });
});
