import bcrypt from 'bcrypt';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DUMMY_HASH, dummyVerify } from './dummy.js';
import { DEFAULT_BCRYPT_COST } from './hash.js';
import { verifyPassword } from './verify.js';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('account enumeration by login timing', () => {
  it('the precomputed dummy hash is a well-formed bcrypt hash at the default cost', async () => {
    expect(DUMMY_HASH).toMatch(new RegExp(`^\\$2b\\$${DEFAULT_BCRYPT_COST}\\$[./A-Za-z0-9]{53}$`));
    expect(bcrypt.getRounds(DUMMY_HASH)).toBe(DEFAULT_BCRYPT_COST);
  });

  it('an unknown user still costs exactly one bcrypt compare, at the default cost by default', async () => {
    const compare = vi.spyOn(bcrypt, 'compare').mockImplementation(async () => false);
    expect(await dummyVerify('whatever the attacker typed')).toBe(false);
    expect(compare).toHaveBeenCalledTimes(1);
    expect(compare.mock.calls[0]?.[1]).toBe(DUMMY_HASH);
  });

  it('uses a hash of the requested cost when stored hashes use another cost', async () => {
    const compare = vi.spyOn(bcrypt, 'compare');
    expect(await dummyVerify('whatever', { cost: 4 })).toBe(false);
    expect(compare).toHaveBeenCalledTimes(1);
    const hash = compare.mock.calls[0]?.[1];
    expect(typeof hash === 'string' && bcrypt.getRounds(hash)).toBe(4);
  });

  it('mirrors verifyPassword’s over-72-byte shortcut, so long input times the same for known and unknown users', async () => {
    const compare = vi.spyOn(bcrypt, 'compare');
    expect(await dummyVerify('x'.repeat(73), { cost: 4 })).toBe(false);
    expect(await verifyPassword('x'.repeat(73), DUMMY_HASH)).toBe(false);
    expect(compare).not.toHaveBeenCalled();
  });

  it('never answers true, not even for an empty password', async () => {
    expect(await dummyVerify(undefined, { cost: 4 })).toBe(false);
    expect(await dummyVerify('', { cost: 4 })).toBe(false);
  });
});
