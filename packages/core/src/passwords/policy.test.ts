import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { commonPasswords } from './lib/common-passwords.js';
import { checkPasswordPolicy } from './policy.js';

describe('checkPasswordPolicy', () => {
  it('accepts a long, uncommon password', () => {
    expect(checkPasswordPolicy('violet-otter-harbour-42')).toEqual({ ok: true });
    expect(checkPasswordPolicy('correct horse battery staple', { email: 'alice@example.com' })).toEqual({
      ok: true,
    });
  });

  it.each([
    ['', 'too_short'],
    ['short', 'too_short'],
    ['nine char', 'too_short'],
    ['🔑🔑🔑🔑🔑🔑🔑🔑🔑', 'too_short'], // 9 characters, 36 bytes: length counts characters
    ['a'.repeat(73), 'too_long'],
    ['🔑'.repeat(19), 'too_long'], // 19 characters, 76 bytes: the limit counts bytes
  ])('%j → %s', (password, reason) => {
    expect(checkPasswordPolicy(password)).toEqual({ ok: false, reason });
  });

  it('boundaries: 10 characters and 72 bytes are allowed', () => {
    expect(checkPasswordPolicy('zk4#mq9!vt')).toEqual({ ok: true });
    expect(checkPasswordPolicy('🔑'.repeat(18))).toEqual({ ok: true });
    expect(checkPasswordPolicy('zk4#mq9!vt'.repeat(7).slice(0, 72))).toEqual({ ok: true });
  });

  it.each([
    'password123',
    'qwertyuiop',
    '1234567890',
    'iloveyou123',
    'PASSWORD123',
    'QwErTyUiOp',
    'Password2024',
    '1q2w3e4r5t6y',
    'rampart2025',
  ])('credential stuffing favourite %j → common', (password) => {
    expect(checkPasswordPolicy(password)).toEqual({ ok: false, reason: 'common' });
  });

  it('compares after NFKC, so full-width look-alikes of a common password are refused too', () => {
    expect(checkPasswordPolicy('ｐａｓｓｗｏｒｄ１２３')).toEqual({ ok: false, reason: 'common' });
  });

  it('the bundled list is non-trivial, lower case, and loaded once', () => {
    const list = commonPasswords();
    expect(list.size).toBeGreaterThanOrEqual(1000);
    for (const top of ['123456', 'password', 'qwerty', 'iloveyou', 'password123', 'qwertyuiop']) {
      expect(list.has(top)).toBe(true);
    }
    for (const entry of list) expect(entry).toBe(entry.toLowerCase());
    expect(commonPasswords()).toBe(list);
    const file = readFileSync(new URL('./lib/common-passwords.txt', import.meta.url), 'utf8');
    expect(file.endsWith('\n')).toBe(true);
  });

  it.each([
    ['alice.smith@example.com', 'my-alice.smith-pass', 'contains_email'],
    ['alice.smith@example.com', 'MY-ALICE.SMITH-PASS', 'contains_email'],
    ['bob.jones+work@example.com', 'bob.jones-rules-2024', 'contains_email'], // base before +tag
    ['alice@example.com', 'xx-alice-horse-xx', 'contains_email'],
  ])('password built from the email %s → %s', (email, password, reason) => {
    expect(checkPasswordPolicy(password, { email })).toEqual({ ok: false, reason });
  });

  it('short local parts (< 4 characters) are not checked, and the domain is not checked', () => {
    expect(checkPasswordPolicy('bob-is-a-builder-99', { email: 'bob@example.com' })).toEqual({ ok: true });
    expect(checkPasswordPolicy('example-horse-battery', { email: 'zed@example.com' })).toEqual({ ok: true });
  });

  it('reports the first failing rule in order: too_short, too_long, common, contains_email', () => {
    expect(checkPasswordPolicy('alice', { email: 'alice@example.com' })).toEqual({
      ok: false,
      reason: 'too_short',
    });
    expect(checkPasswordPolicy('password123', { email: 'password123@example.com' })).toEqual({
      ok: false,
      reason: 'common',
    });
  });
});
