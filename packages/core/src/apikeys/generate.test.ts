import { createHash } from 'node:crypto';
import bs58 from 'bs58';
import { describe, expect, it } from 'vitest';
import { parseApiKey, parseToken, type TokenEnv, type TokenKind } from './format.js';
import { generateApiKey, generateToken } from './generate.js';
import { hashToken } from './hash.js';

const FORMAT = /^rk_(live|test)_[1-9A-HJ-NP-Za-km-z]{32,44}$/;

describe('generateApiKey', () => {
  it('writes rk_<env>_<base58 of 32 random bytes>, live by default', () => {
    const { key } = generateApiKey();
    expect(key).toMatch(FORMAT);
    expect(key.startsWith('rk_live_')).toBe(true);
    expect(generateApiKey('test').key.startsWith('rk_test_')).toBe(true);
    expect(bs58.decode(key.slice('rk_live_'.length))).toHaveLength(32);
  });

  it('prefix is exactly the first 8 characters after rk_<env>_, and parsing gives it back', () => {
    for (const env of ['live', 'test'] as const) {
      const { key, prefix } = generateApiKey(env);
      expect(prefix).toHaveLength(8);
      expect(key.slice(`rk_${env}_`.length, `rk_${env}_`.length + 8)).toBe(prefix);
      expect(parseApiKey(key)).toEqual({ env, prefix });
    }
  });

  it('hash is sha256("rampart.apikey.v1\\0" + key), computed independently here', () => {
    const { key, hash } = generateApiKey();
    const expected = createHash('sha256')
      .update(Buffer.from(`rampart.apikey.v1\u0000${key}`, 'utf8'))
      .digest('hex');
    expect(hash).toBe(expected);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(hashToken(key)).toBe(expected);
  });

  it('the stored hash is not the plain sha256 of the key (domain separated from other uses of the key)', () => {
    const { key, hash } = generateApiKey();
    expect(hash).not.toBe(createHash('sha256').update(key).digest('hex'));
  });

  it('10,000 keys are all distinct (keys, hashes) and all well-formed', () => {
    const keys = new Set<string>();
    const hashes = new Set<string>();
    for (let i = 0; i < 10_000; i++) {
      const { key, hash, prefix } = generateApiKey();
      expect(FORMAT.test(key)).toBe(true);
      expect(parseApiKey(key)?.prefix).toBe(prefix);
      keys.add(key);
      hashes.add(hash);
    }
    expect(keys.size).toBe(10_000);
    expect(hashes.size).toBe(10_000);
  });
});

describe('generateToken: the same format for every credential kind', () => {
  it.each<[TokenKind, TokenEnv]>([
    ['rk', 'live'],
    ['rt', 'live'],
    ['rt', 'test'],
    ['cli', 'live'],
  ])('%s_%s_…', (kind, env) => {
    const { key, prefix, hash } = generateToken(kind, env);
    expect(key.startsWith(`${kind}_${env}_`)).toBe(true);
    expect(parseToken(key)).toEqual({ kind, env, prefix });
    expect(hash).toBe(hashToken(key));
  });

  it('a runtime token is not an API key', () => {
    const { key } = generateToken('rt', 'live');
    expect(parseApiKey(key)).toBeNull();
  });

  it('refuses unknown kinds and envs (programmer errors)', () => {
    expect(() => generateToken('sk' as TokenKind, 'live')).toThrow(TypeError);
    expect(() => generateToken('rk', 'prod' as TokenEnv)).toThrow(TypeError);
    expect(() => generateApiKey('LIVE' as TokenEnv)).toThrow(TypeError);
  });
});
