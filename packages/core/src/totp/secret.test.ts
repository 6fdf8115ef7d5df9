import { ScureBase32Plugin } from 'otplib';
import { describe, expect, it } from 'vitest';
import { TotpError } from './errors.js';
import { generateTotpSecret } from './secret.js';
import { totpUri } from './uri.js';

describe('generateTotpSecret', () => {
  it('is 160 bits of unpadded upper-case base32, different every time', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const secret = generateTotpSecret();
      expect(secret).toMatch(/^[A-Z2-7]{32}$/);
      expect(new ScureBase32Plugin().decode(secret)).toHaveLength(20);
      seen.add(secret);
    }
    expect(seen.size).toBe(1000);
  });
});

describe('totpUri', () => {
  const secret = generateTotpSecret();

  it('builds otpauth://totp/Rampart:<account>?secret=…&issuer=Rampart', () => {
    const uri = new URL(totpUri({ secret, account: 'alice@example.com' }));
    expect(uri.protocol).toBe('otpauth:');
    expect(uri.host).toBe('totp');
    expect(decodeURIComponent(uri.pathname)).toBe('/Rampart:alice@example.com');
    expect(uri.searchParams.get('secret')).toBe(secret);
    expect(uri.searchParams.get('issuer')).toBe('Rampart');
    for (const [name, value] of [
      ['algorithm', 'SHA1'],
      ['digits', '6'],
      ['period', '30'],
    ]) {
      const param = uri.searchParams.get(name as string);
      if (param !== null) expect(param).toBe(value);
    }
  });

  it('takes a branded issuer and escapes spaces and @', () => {
    const uri = totpUri({ secret, account: 'bob smith@example.com', issuer: 'Acme Security' });
    expect(uri.startsWith('otpauth://totp/Acme%20Security:bob%20smith%40example.com?')).toBe(true);
    expect(new URL(uri).searchParams.get('issuer')).toBe('Acme Security');
  });

  it('label injection: an account or issuer containing ":" is refused (otplib leaves it unescaped)', () => {
    expect(() => totpUri({ secret, account: 'Evil Corp:alice@example.com' })).toThrow(TypeError);
    expect(() => totpUri({ secret, account: 'alice', issuer: 'a:b' })).toThrow(TypeError);
    expect(() => totpUri({ secret, account: '' })).toThrow(TypeError);
    expect(() => totpUri({ secret, account: '   ' })).toThrow(TypeError);
  });

  it('refuses a secret it could not have generated, without echoing it', () => {
    const bad = secret.toLowerCase();
    const err = (() => {
      try {
        totpUri({ secret: bad, account: 'alice@example.com' });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(TotpError);
    expect(String(err)).not.toContain(bad);
  });
});
