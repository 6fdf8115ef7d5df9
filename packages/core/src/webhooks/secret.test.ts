import { describe, expect, it } from 'vitest';
import { generateWebhookSecret, WEBHOOK_SECRET_BYTES } from './secret.js';
import { signStandardWebhook } from './sign.js';

describe('generateWebhookSecret', () => {
  it('is whsec_ + canonical standard base64 of 32 bytes', () => {
    const secret = generateWebhookSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
    expect(key).toHaveLength(WEBHOOK_SECRET_BYTES);
    expect(WEBHOOK_SECRET_BYTES).toBeGreaterThanOrEqual(24);
    expect(`whsec_${key.toString('base64')}`).toBe(secret);
  });

  it('is accepted by the signer', () => {
    const signature = signStandardWebhook({
      secret: generateWebhookSecret(),
      id: 'm',
      timestamp: 1,
      body: '',
    });
    expect(signature).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
  });

  it('never repeats across 10k secrets, and is not a constant key', () => {
    const secrets = new Set<string>();
    for (let i = 0; i < 10_000; i++) secrets.add(generateWebhookSecret());
    expect(secrets.size).toBe(10_000);
    const zero = `whsec_${Buffer.alloc(WEBHOOK_SECRET_BYTES).toString('base64')}`;
    expect(secrets.has(zero)).toBe(false);
  });
});
