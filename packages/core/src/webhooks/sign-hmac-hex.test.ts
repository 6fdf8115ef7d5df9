import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signHmacHex } from './sign-hmac-hex.js';

const SECRET = 'billing-webhook-secret';
const BODY = '{"meta":{"event_name":"order_created","custom_data":{"nonce":"n_1"}}}';

describe('signHmacHex', () => {
  it('is lower-case hex HMAC-SHA256 of the raw body, computed independently here', () => {
    const expected = createHmac('sha256', Buffer.from(SECRET)).update(Buffer.from(BODY)).digest('hex');
    expect(signHmacHex(SECRET, BODY)).toBe(expected);
    expect(signHmacHex(SECRET, BODY)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('treats a string secret and body as their UTF-8 bytes', () => {
    const secret = 'sécret-🔑';
    const body = '{"name":"Zoë"}';
    expect(signHmacHex(secret, body)).toBe(signHmacHex(Buffer.from(secret), Buffer.from(body)));
    expect(signHmacHex(Buffer.from(secret), new Uint8Array(Buffer.from(body)))).toBe(
      signHmacHex(secret, body),
    );
  });

  it('signs the empty body', () => {
    expect(signHmacHex(SECRET, '')).toBe(createHmac('sha256', SECRET).update('').digest('hex'));
  });

  it('refuses an empty secret (anyone could sign) with a RangeError', () => {
    expect(() => signHmacHex('', BODY)).toThrow(RangeError);
    expect(() => signHmacHex(new Uint8Array(0), BODY)).toThrow(RangeError);
  });

  it('refuses secrets and bodies of other types with a TypeError', () => {
    expect(() => signHmacHex(undefined as unknown as string, BODY)).toThrow(TypeError);
    expect(() => signHmacHex(SECRET, JSON.parse(BODY) as string)).toThrow(TypeError);
  });
});
