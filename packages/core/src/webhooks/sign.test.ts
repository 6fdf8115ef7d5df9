import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signStandardWebhook } from './sign.js';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const INPUT = {
  secret: SECRET,
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
};

describe('signStandardWebhook', () => {
  it('gives the spec’s published signature', () => {
    expect(signStandardWebhook(INPUT)).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it('is HMAC-SHA256 of "{id}.{timestamp}.{body}" under the base64-decoded secret, computed independently here', () => {
    const body = Buffer.from([0xff, 0x00, 0x2e, 0xc3, 0x28]); // not valid UTF-8: signed as the bytes sent
    const key = Buffer.from(SECRET.slice(6), 'base64');
    const expected = createHmac('sha256', key)
      .update(Buffer.concat([Buffer.from('evt_1.0.'), body]))
      .digest('base64');
    expect(signStandardWebhook({ ...INPUT, id: 'evt_1', timestamp: 0, body })).toBe(`v1,${expected}`);
  });

  it('binds each of id, timestamp and body: changing one changes the signature', () => {
    const base = signStandardWebhook(INPUT);
    expect(signStandardWebhook({ ...INPUT, id: `${INPUT.id}x` })).not.toBe(base);
    expect(signStandardWebhook({ ...INPUT, timestamp: INPUT.timestamp + 1 })).not.toBe(base);
    expect(signStandardWebhook({ ...INPUT, body: `${INPUT.body} ` })).not.toBe(base);
  });

  it('does not alter the caller’s body bytes', () => {
    const body = Buffer.from(INPUT.body);
    signStandardWebhook({ ...INPUT, body });
    expect(body.toString()).toBe(INPUT.body);
  });

  it.each<[string, Partial<typeof INPUT> | Record<string, unknown>]>([
    ['id with "." (the spec’s timestamp-smuggling warning)', { id: 'msg.1' }],
    ['empty id', { id: '' }],
    ['id with a space', { id: 'msg 1' }],
    ['id with a newline (header injection)', { id: 'msg\r\nx-evil: 1' }],
    ['id over 256 characters', { id: 'm'.repeat(257) }],
    ['fractional timestamp', { timestamp: 1614265330.5 }],
    ['negative timestamp', { timestamp: -1 }],
    ['timestamp in milliseconds beyond 15 digits', { timestamp: 1614265330000000 }],
    ['NaN timestamp', { timestamp: Number.NaN }],
    ['timestamp as a string', { timestamp: '1614265330' }],
    ['body as a parsed object', { body: { test: 1 } }],
  ])('refuses %s with a TypeError', (_name, overrides) => {
    expect(() => signStandardWebhook({ ...INPUT, ...overrides } as typeof INPUT)).toThrow(TypeError);
  });

  it.each([
    ['missing whsec_ prefix', 'MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'],
    ['wrong prefix', 'whsk_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'],
    ['empty key', 'whsec_'],
    ['characters base64 does not have', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLa*w'],
    ['base64url alphabet', `whsec_${Buffer.alloc(24, 0xfb).toString('base64url')}`],
    ['non-canonical trailing bits', `whsec_${Buffer.alloc(32, 1).toString('base64').replace(/E=$/, 'F=')}`],
    ['too much padding', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw=='],
    ['a 23-byte key (under the spec’s 192 bits)', `whsec_${Buffer.alloc(23, 1).toString('base64')}`],
    ['a 65-byte key (over the spec’s 512 bits)', `whsec_${Buffer.alloc(65, 1).toString('base64')}`],
  ])('refuses a secret with %s (RangeError, secret not echoed)', (_name, secret) => {
    let err: unknown;
    try {
      signStandardWebhook({ ...INPUT, secret });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RangeError);
    const key = secret.slice('whsec_'.length);
    if (key.length > 0) expect(String(err)).not.toContain(key);
  });
});
