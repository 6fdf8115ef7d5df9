import { createCipheriv } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hex, loadWycheproof, type WycheproofTest } from '../../../../../test/vectors.js';
import { SealError } from '../errors.js';
import { GCM_IV_MAX_BYTES, gcmDecrypt, gcmEncrypt } from './gcm.js';

const file = loadWycheproof('wycheproof/aes_gcm_test.json');

/**
 * Counts what actually executed, so a vector that is silently skipped or filtered out fails the suite.
 * `validOverlongIv` are valid vectors whose IV exceeds what node:crypto (OpenSSL 3) can take: they cannot be
 * checked byte-for-byte without hand-rolled GHASH, so they are asserted to fail closed instead.
 */
const executed = { valid: 0, validOverlongIv: [] as number[], invalid: 0 };

function openFailed(run: () => unknown): SealError {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(SealError);
    expect((err as SealError).code).toBe('open_failed');
    return err as SealError;
  }
  throw new Error('expected open_failed, but decryption succeeded');
}

describe('Wycheproof AES-GCM (aes_gcm_test.json)', () => {
  it('is the expected file', () => {
    expect(file.algorithm).toBe('AES-GCM');
    expect(file.testGroups.reduce((n, g) => n + g.tests.length, 0)).toBe(file.numberOfTests);
  });

  for (const group of file.testGroups) {
    const title = `AES-${String(group.keySize)} IV ${String(group.ivSize)} bits tag ${String(group.tagSize)} bits`;
    describe(title, () => {
      it.each(group.tests.map((t): [number, string, WycheproofTest] => [t.tcId, t.result, t]))(
        'tcId %i (%s)',
        (_tcId, _result, t) => {
          const [key, iv, aad, msg, ct, tag] = [t.key, t.iv, t.aad, t.msg, t.ct, t.tag].map(hex) as [
            Buffer,
            Buffer,
            Buffer,
            Buffer,
            Buffer,
            Buffer,
          ];
          if (t.result === 'valid' && iv.length > GCM_IV_MAX_BYTES) {
            expect(() => gcmEncrypt(key, iv, aad, msg)).toThrow(TypeError);
            openFailed(() => gcmDecrypt(key, iv, aad, ct, tag));
            executed.validOverlongIv.push(t.tcId);
          } else if (t.result === 'valid') {
            const sealed = gcmEncrypt(key, iv, aad, msg);
            expect(sealed.ciphertext.toString('hex')).toBe(ct.toString('hex'));
            expect(sealed.tag.toString('hex')).toBe(tag.toString('hex'));
            expect(gcmDecrypt(key, iv, aad, ct, tag).toString('hex')).toBe(msg.toString('hex'));
            executed.valid += 1;
          } else if (t.result === 'invalid') {
            openFailed(() => gcmDecrypt(key, iv, aad, ct, tag));
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
    const { valid, validOverlongIv, invalid } = executed;
    expect(valid + validOverlongIv.length + invalid).toBe(file.numberOfTests);
    expect(valid + validOverlongIv.length).toBe(229);
    expect(invalid).toBe(87);
    // Only the three 2056-bit-IV vectors may take the fail-closed path; anything else landing there is a bug.
    expect(validOverlongIv).toEqual([268, 272, 276]);
  });
});

describe('gcm primitive edges', () => {
  const key = Buffer.alloc(32, 7);
  const iv = Buffer.alloc(12, 1);
  const aad = Buffer.from('aad');
  const { ciphertext, tag } = gcmEncrypt(key, iv, aad, Buffer.from('hello'));

  it('refuses keys that are not 16, 24 or 32 bytes with invalid_key_ring', () => {
    for (const size of [0, 15, 17, 31, 33, 64]) {
      expect(() => gcmEncrypt(Buffer.alloc(size), iv, aad, Buffer.alloc(1))).toThrow(
        expect.objectContaining({ code: 'invalid_key_ring' }),
      );
      expect(() => gcmDecrypt(Buffer.alloc(size), iv, aad, ciphertext, tag)).toThrow(
        expect.objectContaining({ code: 'invalid_key_ring' }),
      );
    }
  });

  it('refuses truncated or extended tags with open_failed, even when the prefix is right', () => {
    for (const length of [0, 4, 8, 12, 13, 15])
      openFailed(() => gcmDecrypt(key, iv, aad, ciphertext, tag.subarray(0, length)));
    openFailed(() => gcmDecrypt(key, iv, aad, ciphertext, Buffer.concat([tag, Buffer.alloc(1)])));
  });

  it('turns node refusing a zero-length IV into open_failed with the node error as cause', () => {
    const err = openFailed(() => gcmDecrypt(key, Buffer.alloc(0), aad, ciphertext, tag));
    expect(err.cause).toBeInstanceOf(Error);
    expect(err.cause).not.toBeInstanceOf(SealError);
  });

  it('refuses to encrypt with a zero-length IV', () => {
    expect(() => gcmEncrypt(key, Buffer.alloc(0), aad, Buffer.alloc(1))).toThrow(TypeError);
  });

  it('accepts IVs up to GCM_IV_MAX_BYTES and refuses longer ones, matching what node:crypto can do', () => {
    const longest = Buffer.alloc(GCM_IV_MAX_BYTES, 3);
    const sealed = gcmEncrypt(key, longest, aad, Buffer.from('x'));
    expect(gcmDecrypt(key, longest, aad, sealed.ciphertext, sealed.tag).toString()).toBe('x');
    const tooLong = Buffer.alloc(GCM_IV_MAX_BYTES + 1, 3);
    expect(() => gcmEncrypt(key, tooLong, aad, Buffer.from('x'))).toThrow(TypeError);
    openFailed(() => gcmDecrypt(key, tooLong, aad, sealed.ciphertext, sealed.tag));
    // If this starts failing after a node/OpenSSL upgrade, GCM_IV_MAX_BYTES can be raised and the three
    // 2056-bit-IV Wycheproof vectors checked byte-for-byte.
    expect(() => createCipheriv('aes-256-gcm', key, tooLong, { authTagLength: 16 })).toThrow();
  });

  it('fails on wrong AAD', () => {
    openFailed(() => gcmDecrypt(key, iv, Buffer.from('aae'), ciphertext, tag));
  });
});
