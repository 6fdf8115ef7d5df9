import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { SealContext } from './aad.js';
import { isEnvelope } from './envelope.js';
import { SealError } from './errors.js';
import { KeyRing } from './keyring.js';
import { open, openString } from './open.js';
import { seal } from './seal.js';

const RUNS = { numRuns: 200 };
const ring = KeyRing.fromKeys([{ id: 'k1', key: KeyRing.generateKey() }]);

// 'binary' units are arbitrary Unicode code points (well-formed UTF-16), including control characters, quotes,
// backslashes and dots, which are what could confuse a naive AAD encoding.
const text = (constraints: { minLength?: number; maxLength?: number } = {}) =>
  fc.string({ unit: 'binary', ...constraints });
const field = text({ minLength: 1, maxLength: 40 });
const orgId = fc.option(field, { nil: null });
const contextArb: fc.Arbitrary<SealContext> = fc.record({ orgId, table: field, column: field, rowId: field });

/** A context that differs from `ctx` in exactly one field. */
const movedContext = (ctx: SealContext) =>
  fc.oneof(
    orgId.filter((v) => v !== ctx.orgId).map((v) => ({ ...ctx, orgId: v })),
    field.filter((v) => v !== ctx.table).map((v) => ({ ...ctx, table: v })),
    field.filter((v) => v !== ctx.column).map((v) => ({ ...ctx, column: v })),
    field.filter((v) => v !== ctx.rowId).map((v) => ({ ...ctx, rowId: v })),
  );

function failsToOpen(run: () => unknown): boolean {
  try {
    run();
  } catch (err) {
    return err instanceof SealError;
  }
  return false;
}

describe('seal properties', () => {
  it('open(seal(x)) === x for arbitrary unicode strings', () => {
    fc.assert(
      fc.property(text({ maxLength: 300 }), contextArb, (plaintext, ctx) => {
        expect(openString(ring, seal(ring, plaintext, ctx), ctx)).toBe(plaintext);
      }),
      RUNS,
    );
  });

  it('open(seal(x)) equals x for arbitrary byte arrays of 0..4096 bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 4096 }), contextArb, (plaintext, ctx) => {
        expect(open(ring, seal(ring, plaintext, ctx), ctx).equals(plaintext)).toBe(true);
      }),
      RUNS,
    );
  });

  it('sealing the same value twice gives different envelopes', () => {
    fc.assert(
      fc.property(text({ maxLength: 100 }), contextArb, (plaintext, ctx) => {
        expect(seal(ring, plaintext, ctx)).not.toBe(seal(ring, plaintext, ctx));
      }),
      RUNS,
    );
  });

  it('opening with a context that differs in any one field fails', () => {
    fc.assert(
      fc.property(
        text({ maxLength: 100 }),
        contextArb.chain((ctx) => fc.tuple(fc.constant(ctx), movedContext(ctx))),
        (plaintext, [ctx, moved]) => {
          const envelope = seal(ring, plaintext, ctx);
          expect(failsToOpen(() => open(ring, envelope, moved))).toBe(true);
        },
      ),
      RUNS,
    );
  });

  it('opening with an arbitrary other context fails', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), contextArb, contextArb, (plaintext, ctx, other) => {
        fc.pre(JSON.stringify(ctx) !== JSON.stringify(other));
        expect(failsToOpen(() => open(ring, seal(ring, plaintext, ctx), other))).toBe(true);
      }),
      RUNS,
    );
  });

  it('changing any one character of an envelope never yields a value', () => {
    fc.assert(
      fc.property(
        text({ maxLength: 64 }),
        contextArb,
        fc.nat(),
        fc.constantFrom(...'v1.kAZaz09_-+/=B '),
        (plaintext, ctx, at, replacement) => {
          const envelope = seal(ring, plaintext, ctx);
          const i = at % envelope.length;
          fc.pre(envelope[i] !== replacement);
          const edited = envelope.slice(0, i) + replacement + envelope.slice(i + 1);
          expect(failsToOpen(() => open(ring, edited, ctx))).toBe(true);
        },
      ),
      RUNS,
    );
  });

  it('isEnvelope(seal(x)) is true', () => {
    fc.assert(
      fc.property(
        fc.oneof(text({ maxLength: 200 }), fc.uint8Array({ maxLength: 512 })),
        contextArb,
        (x, ctx) => {
          expect(isEnvelope(seal(ring, x, ctx))).toBe(true);
        },
      ),
      RUNS,
    );
  });

  it('isEnvelope is false for strings that do not start with "v1."', () => {
    const notV1 = fc
      .oneof(text(), fc.string(), fc.string({ unit: 'binary-ascii' }))
      .filter((s) => !s.startsWith('v1.'));
    fc.assert(
      fc.property(notV1, (s) => {
        expect(isEnvelope(s)).toBe(false);
      }),
      RUNS,
    );
  });

  it('isEnvelope is false for legacy plaintext and near misses', () => {
    const envelope = seal(ring, 'x', { orgId: null, table: 't', column: 'c', rowId: 'r' });
    for (const s of [
      '',
      'sk-live-0123456789abcdef',
      'v1.',
      'v1.k1',
      envelope.replace(/^v1/, 'v2'),
      `${envelope}.x`,
      `${envelope}=`,
      ` ${envelope}`,
      envelope.slice(0, envelope.lastIndexOf('.') + 10),
    ]) {
      expect(isEnvelope(s)).toBe(false);
    }
  });
});
