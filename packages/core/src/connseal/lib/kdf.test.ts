import { describe, expect, it } from 'vitest';
import { hex, loadWycheproof } from '../../../../../test/vectors.js';
import { pbkdf2Sha256 } from './kdf.js';

const file = loadWycheproof('wycheproof/pbkdf2_hmacsha256_test.json');
const cases = file.testGroups.flatMap((g) => g.tests);

describe('Wycheproof PBKDF2-HMAC-SHA256 (pbkdf2_hmacsha256_test.json)', () => {
  it('is the expected file', () => {
    expect(file.algorithm).toBe('PBKDF2-HMACSHA256');
    expect(cases).toHaveLength(file.numberOfTests);
  });

  it.each(cases.map((t) => [t.tcId, t] as const))('tcId %i derives the published key', async (_id, t) => {
    // Every case in this file is valid: the derived key must match byte for byte.
    expect(t.result).toBe('valid');
    const dk = await pbkdf2Sha256(hex(t.password), hex(t.salt), Number(t.iterationCount), Number(t.dkLen));
    expect(Buffer.from(dk).toString('hex')).toBe(String(t.dk));
  });
});
