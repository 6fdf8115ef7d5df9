import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AGENT_TOKEN_PREFIX, generateAgentToken, hashAgentToken, isAgentToken } from './agent.js';
import { parseToken } from './format.js';
import { hashToken } from './hash.js';

describe('agent tokens (ag_)', () => {
  it('are ag_ + base64url of 32 random bytes, and the prefix is the first 8 characters after ag_', () => {
    const { key, prefix, hash } = generateAgentToken();
    expect(key).toMatch(/^ag_[A-Za-z0-9_-]{43}$/);
    expect(key.startsWith(AGENT_TOKEN_PREFIX)).toBe(true);
    expect(Buffer.from(key.slice(3), 'base64url')).toHaveLength(32);
    expect(prefix).toBe(key.slice(3, 11));
    expect(hash).toBe(hashAgentToken(key));
    expect(isAgentToken(key)).toBe(true);
  });

  it('hash is sha256("rampart-agent-token-v1:" + token): stored hashes stay valid', () => {
    const token = `ag_${Buffer.alloc(32, 7).toString('base64url')}`;
    expect(hashAgentToken(token)).toBe('ef9cd832a78449279700ec78c5cbeb7c49087a07c02760a1ff521b389a1fe509');
    const { key, hash } = generateAgentToken();
    expect(hash).toBe(createHash('sha256').update(`rampart-agent-token-v1:${key}`).digest('hex'));
    expect(hash).not.toBe(hashToken(key));
  });

  it('isAgentToken refuses anything but the exact shape, without throwing', () => {
    const { key } = generateAgentToken();
    for (const bad of [
      '',
      'ag_',
      `${key}A`,
      key.slice(0, -1),
      ` ${key}`,
      `Bearer ${key}`,
      key.replace('ag_', 'AG_'),
      `ag_${'+'.repeat(43)}`,
      undefined,
      42,
      { key },
    ]) {
      expect(isAgentToken(bad)).toBe(false);
    }
  });

  it('is its own kind: the <kind>_<env>_ parser does not accept it, and 1,000 tokens are distinct', () => {
    const keys = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const { key } = generateAgentToken();
      expect(parseToken(key)).toBeNull();
      keys.add(key);
    }
    expect(keys.size).toBe(1000);
  });

  it('hashAgentToken refuses a non-string with a TypeError that does not echo it', () => {
    const { key } = generateAgentToken();
    expect(() => hashAgentToken({ key } as unknown as string)).toThrow(TypeError);
    try {
      hashAgentToken(Buffer.from(key) as unknown as string);
    } catch (err) {
      expect(String(err)).not.toContain(key);
    }
  });
});
