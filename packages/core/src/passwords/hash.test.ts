import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { PasswordError } from './errors.js';
import { DEFAULT_BCRYPT_COST, hashPassword } from './hash.js';
import { verifyPassword } from './verify.js';

const cost = 4; // fast; the one test at the default cost is below

describe('hashPassword', () => {
  it('pins the default cost at 12 and writes $2b$12$ hashes (slow: one real cost-12 hash)', async () => {
    expect(DEFAULT_BCRYPT_COST).toBe(12);
    const hash = await hashPassword('correct horse battery staple');
    expect(hash).toMatch(/^\$2b\$12\$[./A-Za-z0-9]{53}$/);
  });

  it('salts: the same password hashes differently each time, and both verify', async () => {
    const a = await hashPassword('correct horse battery staple', { cost });
    const b = await hashPassword('correct horse battery staple', { cost });
    expect(a).not.toBe(b);
    expect(a).toMatch(/^\$2b\$04\$/);
    expect(await verifyPassword('correct horse battery staple', a)).toBe(true);
    expect(await verifyPassword('correct horse battery staple', b)).toBe(true);
  });

  it('accepts exactly 72 bytes, including multi-byte characters', async () => {
    const ascii = 'a'.repeat(72);
    const emoji = '🔑'.repeat(18); // 4 bytes each
    expect(await verifyPassword(ascii, await hashPassword(ascii, { cost }))).toBe(true);
    expect(await verifyPassword(emoji, await hashPassword(emoji, { cost }))).toBe(true);
  });

  it.each([
    ['73 ASCII bytes', 'a'.repeat(73)],
    ['19 four-byte emoji (76 bytes, 19 characters)', '🔑'.repeat(19)],
    ['37 two-byte characters', 'é'.repeat(37)],
  ])('silent truncation past 72 bytes is refused, not applied: %s', async (_name, long) => {
    const err = await hashPassword(long, { cost }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PasswordError);
    expect((err as PasswordError).code).toBe('too_long');
    for (const text of [String(err), JSON.stringify(err), inspect(err)]) expect(text).not.toContain(long);
  });

  it('measures the limit after NFKC, so a compatibility form cannot smuggle extra bytes past it', async () => {
    // U+FDFA is 3 bytes but NFKC-expands to 18 characters (33 bytes); 3 of them are 99 bytes once normalised.
    const err = await hashPassword('\uFDFA'.repeat(3), { cost }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'too_long' });
  });

  it('refuses bad costs and non-strings as programmer errors', async () => {
    for (const bad of [3, 32, 10.5, Number.NaN]) {
      await expect(hashPassword('a long enough password', { cost: bad })).rejects.toThrow(RangeError);
    }
    await expect(hashPassword(42 as unknown as string, { cost })).rejects.toThrow(TypeError);
  });
});
