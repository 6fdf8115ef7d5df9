import bcrypt from 'bcrypt';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { PasswordError } from './errors.js';
import { hashPassword } from './hash.js';
import { verifyPassword } from './verify.js';

const cost = 4;
const PASSWORD = 'violet-otter-harbour-42';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('verifyPassword', () => {
  it('accepts the right password and refuses a wrong one', async () => {
    const hash = await hashPassword(PASSWORD, { cost });
    expect(await verifyPassword(PASSWORD, hash)).toBe(true);
    expect(await verifyPassword(`${PASSWORD}x`, hash)).toBe(false);
    expect(await verifyPassword(PASSWORD.toUpperCase(), hash)).toBe(false);
    expect(await verifyPassword('', hash)).toBe(false);
  });

  it('truncated-prefix login: a 72-byte password plus a suffix does not log in', async () => {
    const exactly72 = `${'p'.repeat(60)}abcdefghijkl`;
    const hash = await hashPassword(exactly72, { cost });
    // bcrypt alone would accept this (it reads only 72 bytes): verifyPassword must refuse it.
    expect(await bcrypt.compare(`${exactly72}anything`, hash)).toBe(true);
    expect(await verifyPassword(`${exactly72}anything`, hash)).toBe(false);
    expect(await verifyPassword(`${exactly72}🔑`, hash)).toBe(false);
  });

  it('does not even run bcrypt for an over-long password (length is the caller’s own knowledge)', async () => {
    const hash = await hashPassword(PASSWORD, { cost });
    const compare = vi.spyOn(bcrypt, 'compare');
    expect(await verifyPassword('x'.repeat(73), hash)).toBe(false);
    expect(compare).not.toHaveBeenCalled();
  });

  it('the same password typed as NFC or NFD logs in (NFKC before hashing)', async () => {
    const nfc = 'café-crème-brûlée'.normalize('NFC');
    const nfd = nfc.normalize('NFD');
    expect(nfc).not.toBe(nfd);
    const hash = await hashPassword(nfc, { cost });
    expect(await verifyPassword(nfd, hash)).toBe(true);
  });

  it('a NUL byte is part of the password, not its end', async () => {
    const hash = await hashPassword('before\0after-secret', { cost });
    expect(await verifyPassword('before\0after-secret', hash)).toBe(true);
    expect(await verifyPassword('before', hash)).toBe(false);
    expect(await verifyPassword('before\0other-secret', hash)).toBe(false);
  });

  it('accepts $2a$ hashes (older libraries), which bcrypt still verifies correctly', async () => {
    const hash = (await hashPassword(PASSWORD, { cost })).replace(/^\$2b\$/, '$2a$');
    expect(await verifyPassword(PASSWORD, hash)).toBe(true);
  });

  it.each([
    ['empty', ''],
    ['not bcrypt', 'sha256:abcdef'],
    ['$2y$ (bcrypt answers false even for the right password)', '$2y$04$'.padEnd(60, 'a')],
    ['truncated', '$2b$04$abc'],
    ['cost out of range', '$2b$03$'.padEnd(60, 'a')],
    ['bad alphabet', '$2b$04$'.padEnd(59, 'a').concat('!')],
  ])('a corrupt stored hash (%s) is an error, not a silent false', async (_name, hash) => {
    const err = await verifyPassword(PASSWORD, hash).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PasswordError);
    expect(err).toMatchObject({ code: 'malformed_hash' });
    expect(String(err)).not.toContain(PASSWORD);
    if (hash !== '') expect(String(err)).not.toContain(hash);
  });
});
