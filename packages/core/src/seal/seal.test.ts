import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { SealContext } from './aad.js';
import { parseEnvelope } from './envelope.js';
import { SealError, type SealErrorCode } from './errors.js';
import { KeyRing } from './keyring.js';
import { open, openString } from './open.js';
import { seal } from './seal.js';

const KEY1 = KeyRing.generateKey();
const KEY2 = KeyRing.generateKey();
const ring = KeyRing.fromKeys([{ id: 'k1', key: KEY1 }]);
const ctx: SealContext = { orgId: 'org_acme', table: 'integrations', column: 'api_key', rowId: 'row_1' };
const SECRET = 'sk-live-SUPERSECRET-plaintext-0123456789';

function sealError(run: () => unknown): SealError {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(SealError);
    return err as SealError;
  }
  throw new Error('expected a SealError, but the call succeeded');
}

function expectCode(code: SealErrorCode, run: () => unknown): SealError {
  const err = sealError(run);
  expect(err.code).toBe(code);
  return err;
}

/** Re-encodes an envelope after changing its decoded bytes, so only the cryptography can catch the change. */
function rebuild(envelope: string, edit: (p: { keyId: string; iv: Buffer; body: Buffer }) => void): string {
  const { keyId, iv, body } = parseEnvelope(envelope);
  const parts = { keyId, iv: Buffer.from(iv), body: Buffer.from(body) };
  edit(parts);
  return `v1.${parts.keyId}.${parts.iv.toString('base64url')}.${parts.body.toString('base64url')}`;
}

describe('round trip', () => {
  it('opens what it sealed (string, bytes, empty, unicode)', () => {
    expect(openString(ring, seal(ring, SECRET, ctx), ctx)).toBe(SECRET);
    expect(openString(ring, seal(ring, '', ctx), ctx)).toBe('');
    expect(openString(ring, seal(ring, 'pässwörd 🔑 鍵', ctx), ctx)).toBe('pässwörd 🔑 鍵');
    const bytes = Uint8Array.from([0, 255, 1, 254, 0]);
    expect(open(ring, seal(ring, bytes, ctx), ctx)).toEqual(Buffer.from(bytes));
  });

  it('opens platform-level rows (orgId null)', () => {
    const platform = { ...ctx, orgId: null };
    expect(openString(ring, seal(ring, SECRET, platform), platform)).toBe(SECRET);
  });

  it('writes v1.<keyId>.<12-byte IV>.<ciphertext||16-byte tag>', () => {
    const envelope = seal(ring, SECRET, ctx);
    expect(envelope).toMatch(/^v1\.k1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+$/);
    const { version, keyId, iv, body } = parseEnvelope(envelope);
    expect([version, keyId, iv.length, body.length]).toEqual([
      'v1',
      'k1',
      12,
      Buffer.byteLength(SECRET) + 16,
    ]);
  });

  it('does not alter the caller’s bytes', () => {
    const bytes = Buffer.from('caller-owned');
    seal(ring, bytes, ctx);
    expect(bytes.toString()).toBe('caller-owned');
  });

  it('refuses strings with lone surrogates instead of silently storing U+FFFD', () => {
    expect(() => seal(ring, 'abc\uD800def', ctx)).toThrow(TypeError);
    expect(() => seal(ring, '\uDC00', ctx)).toThrow(TypeError);
  });

  it('openString refuses sealed bytes that are not UTF-8', () => {
    const envelope = seal(ring, Uint8Array.from([0xff, 0xfe]), ctx);
    expect(() => openString(ring, envelope, ctx)).toThrow(TypeError);
  });

  it('treats a malformed context as a programmer error (TypeError)', () => {
    const bad = [
      { ...ctx, table: '' },
      { ...ctx, column: '' },
      { ...ctx, rowId: '' },
      { ...ctx, orgId: '' },
      { ...ctx, rowId: 42 },
    ] as unknown as SealContext[];
    for (const c of bad) {
      expect(() => seal(ring, SECRET, c)).toThrow(TypeError);
      expect(() => open(ring, seal(ring, SECRET, ctx), c)).toThrow(TypeError);
    }
  });
});

describe('ciphertext moved to another row / column / table / org fails to open', () => {
  const envelope = seal(ring, SECRET, ctx);
  const OPEN_FAILED_MESSAGE =
    'sealed value could not be opened: wrong key, tampered data, or a ciphertext moved from another org, table, column or row';

  it.each<[string, SealContext]>([
    ['another row', { ...ctx, rowId: 'row_2' }],
    ['another column', { ...ctx, column: 'webhook_secret' }],
    ['another table', { ...ctx, table: 'connections' }],
    ['another org', { ...ctx, orgId: 'org_evil' }],
    ['a platform-level row (org null)', { ...ctx, orgId: null }],
  ])('moved to %s', (_name, moved) => {
    const err = expectCode('open_failed', () => open(ring, envelope, moved));
    expect(err.message).toBe(OPEN_FAILED_MESSAGE);
    expect(err.cause).toBeInstanceOf(SealError);
  });

  it('org null and org "null" are different places', () => {
    const platform = { ...ctx, orgId: null };
    expectCode('open_failed', () => open(ring, seal(ring, SECRET, platform), { ...ctx, orgId: 'null' }));
  });

  it('fields cannot be re-split across a boundary (table "a.b" + column "c" vs "a" + "b.c")', () => {
    const left = { ...ctx, table: 'a.b', column: 'c' };
    const right = { ...ctx, table: 'a', column: 'b.c' };
    expectCode('open_failed', () => open(ring, seal(ring, SECRET, left), right));
    const quoted = { ...ctx, table: 'a","b', column: 'c' };
    const split = { ...ctx, table: 'a', column: 'b","c' };
    expectCode('open_failed', () => open(ring, seal(ring, SECRET, quoted), split));
  });
});

describe('tampered IV / body / tag byte fails', () => {
  const envelope = seal(ring, SECRET, ctx);
  const { iv, body } = parseEnvelope(envelope);
  const ctLength = body.length - 16;

  it.each([
    ['IV', iv.length, (p: { iv: Buffer; body: Buffer }, i: number) => (p.iv[i] = (p.iv[i] ?? 0) ^ 0x01)],
    [
      'ciphertext',
      ctLength,
      (p: { iv: Buffer; body: Buffer }, i: number) => (p.body[i] = (p.body[i] ?? 0) ^ 0x01),
    ],
    [
      'tag',
      16,
      (p: { iv: Buffer; body: Buffer }, i: number) =>
        (p.body[ctLength + i] = (p.body[ctLength + i] ?? 0) ^ 0x80),
    ],
  ] as const)('flipping any single %s byte', (_region, length, flip) => {
    expect(length).toBeGreaterThan(0);
    for (let i = 0; i < length; i++) {
      const tampered = rebuild(envelope, (p) => flip(p, i));
      expect(tampered).not.toBe(envelope);
      expectCode('open_failed', () => open(ring, tampered, ctx));
    }
  });

  it('dropping or appending body bytes', () => {
    expectCode('open_failed', () =>
      open(
        ring,
        rebuild(envelope, (p) => (p.body = p.body.subarray(1))),
        ctx,
      ),
    );
    expectCode('open_failed', () =>
      open(
        ring,
        rebuild(envelope, (p) => (p.body = p.body.subarray(0, -1))),
        ctx,
      ),
    );
    expectCode('open_failed', () =>
      open(
        ring,
        rebuild(envelope, (p) => (p.body = Buffer.concat([p.body, Buffer.alloc(1)]))),
        ctx,
      ),
    );
  });

  it('editing any character of the stored string never opens', () => {
    for (let i = 0; i < envelope.length; i++) {
      const c = envelope[i] === 'A' ? 'B' : 'A';
      const edited = `${envelope.slice(0, i)}${c}${envelope.slice(i + 1)}`;
      const err = sealError(() => open(ring, edited, ctx));
      expect(['open_failed', 'malformed_envelope', 'unsupported_version', 'unknown_key']).toContain(err.code);
    }
  });
});

describe('key id swapped in the header fails', () => {
  const both = KeyRing.fromKeys([
    { id: 'k1', key: KEY1 },
    { id: 'k2', key: KEY2 },
  ]);

  it('to another id the ring holds', () => {
    const envelope = seal(both, SECRET, ctx);
    expectCode('open_failed', () => open(both, envelope.replace(/^v1\.k1\./, 'v1.k2.'), ctx));
  });

  it('to an id the ring does not hold', () => {
    const envelope = seal(both, SECRET, ctx);
    const err = expectCode('unknown_key', () => open(both, envelope.replace(/^v1\.k1\./, 'v1.k9.'), ctx));
    expect(err.message).toBe('key id "k9" is not in the key ring');
  });

  it('even when the swapped-in id names the very same key bytes (header is in the AAD)', () => {
    // KeyRing refuses duplicate key material, so build the two rings separately: same bytes, different ids.
    const asK1 = KeyRing.fromKeys([{ id: 'k1', key: KEY1 }]);
    const asK2 = KeyRing.fromKeys([{ id: 'k2', key: KEY1 }]);
    const envelope = seal(asK1, SECRET, ctx);
    expectCode('open_failed', () => open(asK2, envelope.replace(/^v1\.k1\./, 'v1.k2.'), ctx));
  });
});

describe('wrong key ring (same id, different key) fails', () => {
  it('opens nothing sealed under the other key', () => {
    const impostor = KeyRing.fromKeys([{ id: 'k1', key: KEY2 }]);
    expectCode('open_failed', () => open(impostor, seal(ring, SECRET, ctx), ctx));
    expectCode('open_failed', () => open(ring, seal(impostor, SECRET, ctx), ctx));
  });
});

describe('truncated envelope', () => {
  const envelope = seal(ring, SECRET, ctx);
  const [, keyId, ivText, bodyText] = envelope.split('.') as [string, string, string, string];

  it.each([
    ['empty string', ''],
    ['version only', 'v1'],
    ['version and dot', 'v1.'],
    ['no IV or body', `v1.${keyId}`],
    ['no body', `v1.${keyId}.${ivText}`],
    ['empty body', `v1.${keyId}.${ivText}.`],
    ['IV cut short', `v1.${keyId}.${ivText.slice(0, 8)}.${bodyText}`],
    ['body shorter than a tag', `v1.${keyId}.${ivText}.${bodyText.slice(0, 20)}`],
    ['extra part', `${envelope}.AAAA`],
  ])('%s → malformed_envelope', (_name, truncated) => {
    expectCode('malformed_envelope', () => open(ring, truncated, ctx));
  });

  it('every strict prefix is refused, never opened', () => {
    for (let n = 0; n < envelope.length; n++) {
      const err = sealError(() => open(ring, envelope.slice(0, n), ctx));
      expect(['malformed_envelope', 'open_failed']).toContain(err.code);
    }
  });

  it('non-canonical base64url in a field is malformed, not silently decoded', () => {
    expectCode('malformed_envelope', () => open(ring, `v1.${keyId}.${ivText}.${bodyText}=`, ctx));
    expectCode('malformed_envelope', () =>
      open(ring, `v1.${keyId}.${ivText}.${bodyText.replace(/.$/, '+')}`, ctx),
    );
    expectCode('malformed_envelope', () => open(ring, ` ${envelope}`, ctx));
  });
});

describe('unsupported version', () => {
  const envelope = seal(ring, SECRET, ctx);
  it.each(['v2', 'v0', 'v10'])('%s. prefix → unsupported_version', (version) => {
    expectCode('unsupported_version', () => open(ring, envelope.replace(/^v1/, version), ctx));
  });
  it('anything not shaped like a version is malformed', () => {
    expectCode('malformed_envelope', () => open(ring, envelope.replace(/^v1/, 'V1'), ctx));
    expectCode('malformed_envelope', () => open(ring, SECRET, ctx));
  });
});

describe('IVs', () => {
  it('are unique across 10k seals of the same value in the same place', () => {
    const ivs = new Set<string>();
    const envelopes = new Set<string>();
    for (let i = 0; i < 10_000; i++) {
      const envelope = seal(ring, SECRET, ctx);
      envelopes.add(envelope);
      ivs.add(parseEnvelope(envelope).iv.toString('hex'));
    }
    expect(ivs.size).toBe(10_000);
    expect(envelopes.size).toBe(10_000);
  });
});

describe('error messages never contain the plaintext, the envelope or the base64 key', () => {
  const envelope = seal(ring, SECRET, ctx);
  const [, , ivText, bodyText] = envelope.split('.') as [string, string, string, string];
  const forbidden = [
    SECRET,
    'SUPERSECRET',
    envelope,
    ivText,
    bodyText,
    bodyText.slice(0, 16),
    KEY1.toString('base64'),
    KEY1.toString('base64url'),
    KEY1.toString('hex'),
    KEY2.toString('base64'),
  ];
  const impostor = KeyRing.fromKeys([{ id: 'k1', key: KEY2 }]);

  it.each<[string, () => unknown]>([
    ['open_failed (moved)', () => open(ring, envelope, { ...ctx, rowId: 'other' })],
    ['open_failed (wrong ring)', () => open(impostor, envelope, ctx)],
    [
      'open_failed (tampered)',
      () =>
        open(
          ring,
          rebuild(envelope, (p) => (p.iv[0] = (p.iv[0] ?? 0) ^ 1)),
          ctx,
        ),
    ],
    ['unknown_key', () => open(ring, envelope.replace(/^v1\.k1\./, 'v1.k9.'), ctx)],
    ['malformed_envelope', () => open(ring, envelope.slice(0, -3), ctx)],
    ['malformed_envelope (plaintext passed as envelope)', () => open(ring, SECRET, ctx)],
    ['unsupported_version', () => open(ring, envelope.replace(/^v1/, 'v2'), ctx)],
    ['invalid_key_ring (short key)', () => KeyRing.parse(`k1:${KEY1.subarray(0, 31).toString('base64')}`)],
    [
      'invalid_key_ring (duplicate)',
      () => KeyRing.parse(`k1:${KEY1.toString('base64')},k2:${KEY1.toString('base64')}`),
    ],
    [
      'invalid_key_ring (key as id)',
      () => KeyRing.parse(`${KEY1.toString('base64')}:${KEY2.toString('base64')}`),
    ],
  ])('%s', (_name, run) => {
    const err = sealError(run);
    const renderings = [
      err.message,
      String(err),
      JSON.stringify(err),
      inspect(err, { depth: 5 }),
      err.stack ?? '',
    ];
    expect(JSON.parse(JSON.stringify(err))).toMatchObject({ name: 'SealError', code: err.code });
    for (const text of renderings) {
      for (const secret of forbidden) expect(text).not.toContain(secret);
    }
  });
});
