import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WebhookError } from './errors.js';
import { standardWebhookHeaders } from './headers.js';
import { generateWebhookSecret } from './secret.js';
import { signHmacHex } from './sign-hmac-hex.js';
import { verifyStandardWebhook } from './verify.js';
import { verifyHmacHex } from './verify-hmac-hex.js';

const RUNS = { numRuns: 300 };
const body = fc.uint8Array({ minLength: 1, maxLength: 2048 });
const secret = fc.oneof(
  fc.string({ minLength: 1, maxLength: 64 }),
  fc.uint8Array({ minLength: 1, maxLength: 130 }),
);
/** A body, a position in it and a non-zero XOR mask: flipping at least one bit of one byte. */
const flip = body.chain((b) =>
  fc.tuple(fc.constant(b), fc.nat({ max: b.length - 1 }), fc.integer({ min: 1, max: 255 })),
);
const flipped = (b: Uint8Array, at: number, mask: number) => {
  const copy = Uint8Array.from(b);
  copy[at] = (copy[at] ?? 0) ^ mask;
  return copy;
};

describe('raw-body HMAC properties', () => {
  it('verifyHmacHex(signHmacHex(x)) is true for arbitrary secrets and bodies', () => {
    fc.assert(
      fc.property(secret, fc.uint8Array({ maxLength: 2048 }), (s, b) => {
        expect(verifyHmacHex(s, b, signHmacHex(s, b))).toBe(true);
      }),
      RUNS,
    );
  });

  it('is false after flipping any byte of the body', () => {
    fc.assert(
      fc.property(secret, flip, (s, [b, at, mask]) => {
        expect(verifyHmacHex(s, flipped(b, at, mask), signHmacHex(s, b))).toBe(false);
      }),
      RUNS,
    );
  });

  it('is false after changing any character of the signature', () => {
    fc.assert(
      fc.property(
        secret,
        body,
        fc.nat({ max: 63 }),
        fc.constantFrom(...'0123456789abcdefg '),
        (s, b, at, c) => {
          const signature = signHmacHex(s, b);
          fc.pre(signature[at] !== c);
          const edited = signature.slice(0, at) + c + signature.slice(at + 1);
          expect(verifyHmacHex(s, b, edited)).toBe(false);
        },
      ),
      RUNS,
    );
  });

  it('never throws on attacker-controlled signature text', () => {
    fc.assert(
      fc.property(body, fc.string({ unit: 'binary', maxLength: 130 }), (b, signature) => {
        expect(typeof verifyHmacHex('s', b, signature)).toBe('boolean');
      }),
      RUNS,
    );
  });
});

describe('Standard Webhooks properties', () => {
  const key = generateWebhookSecret();
  const id = fc.stringMatching(/^[A-Za-z0-9_-]{1,40}$/);
  const timestamp = fc.integer({ min: 0, max: 4_102_444_800 });

  it('verify(sign(x)) accepts arbitrary ids, timestamps and bodies', () => {
    fc.assert(
      fc.property(id, timestamp, fc.uint8Array({ maxLength: 2048 }), (i, t, b) => {
        const headers = standardWebhookHeaders({ secret: key, id: i, timestamp: t, body: b });
        expect(verifyStandardWebhook({ secret: key, headers, body: b, now: t * 1000 })).toEqual({
          id: i,
          timestamp: t,
        });
      }),
      RUNS,
    );
  });

  it('refuses with invalid_signature after flipping any byte of the body', () => {
    fc.assert(
      fc.property(id, timestamp, flip, (i, t, [b, at, mask]) => {
        const headers = standardWebhookHeaders({ secret: key, id: i, timestamp: t, body: b });
        let code: string | undefined;
        try {
          verifyStandardWebhook({ secret: key, headers, body: flipped(b, at, mask), now: t * 1000 });
        } catch (err) {
          if (err instanceof WebhookError) code = err.code;
        }
        expect(code).toBe('invalid_signature');
      }),
      RUNS,
    );
  });

  it('only ever throws WebhookError for arbitrary header values', () => {
    const value = fc.option(fc.string({ unit: 'binary', maxLength: 80 }), { nil: undefined });
    fc.assert(
      fc.property(value, value, value, fc.uint8Array({ maxLength: 64 }), (i, t, s, b) => {
        const headers = { 'webhook-id': i, 'webhook-timestamp': t, 'webhook-signature': s };
        expect(() => verifyStandardWebhook({ secret: key, headers, body: b })).toThrow(WebhookError);
      }),
      RUNS,
    );
  });
});
