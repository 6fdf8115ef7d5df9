// hashSecret must give every existing use the hash it stored before hashSecret existed (issue 21): otherwise
// every outstanding reset link, refresh cookie, invitation, device code and checkout nonce stops working.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type HashLabel, hashSecret } from '../src/platform/hash.js';

const legacy = (s: string) => createHash('sha256').update(s).digest('hex');

describe('hashSecret', () => {
  const value = 'rrt_Zm9vYmFyLWJhei1xdXV4LXJhbmRvbS10b2tlbi12YWx1ZQ';
  const plain: HashLabel[] = [
    'password-reset',
    'email-verification',
    'email-change',
    'invitation',
    'refresh-token',
    'device-code',
    'oidc-state',
    'oidc-binding',
    'oidc-result',
    'billing-nonce',
    'account-email',
    'invite-address',
  ];

  it.each(plain)('%s is the plain SHA-256 the stored hashes were made with', (label) => {
    expect(hashSecret(label, value)).toBe(legacy(value));
  });

  it('the throttle keys keep their prefix', () => {
    expect(hashSecret('reauth-user', 'u1')).toBe(legacy('user:u1'));
    expect(hashSecret('oidc-user', 'u1')).toBe(legacy('oidc:u1'));
  });

  it('is 64 hex characters (the columns check it) and UTF-8', () => {
    expect(hashSecret('billing-nonce', 'é')).toMatch(/^[0-9a-f]{64}$/);
    expect(hashSecret('billing-nonce', 'é')).toBe(
      createHash('sha256').update(Buffer.from('é', 'utf8')).digest('hex'),
    );
  });
});
