import { describe, expect, it } from 'vitest';
import { envelopeKeyId } from './envelope.js';
import { KeyRing } from './keyring.js';
import { openString } from './open.js';
import { needsRewrap, rewrap } from './rewrap.js';
import { seal } from './seal.js';

const K1 = KeyRing.generateKey();
const K2 = KeyRing.generateKey();
const spec = (...entries: Array<[string, Buffer]>) =>
  entries.map(([id, k]) => `${id}:${k.toString('base64')}`).join(',');

const onlyK1 = KeyRing.parse(spec(['k1', K1]));
const rotating = KeyRing.parse(spec(['k2', K2], ['k1', K1]));
const onlyK2 = KeyRing.parse(spec(['k2', K2]));
const ctx = { orgId: 'org_1', table: 'integrations', column: 'api_key', rowId: 'row_1' };
const SECRET = 'sk-live-rotate-me-0123456789';

describe('rotation via rewrap', () => {
  const old = seal(onlyK1, SECRET, ctx);
  const rewrapped = rewrap(rotating, old, ctx);

  it('the rotating ring (k2,k1) still opens values sealed under k1', () => {
    expect(openString(rotating, old, ctx)).toBe(SECRET);
  });

  it('rewraps a k1 value to k2 with the same plaintext', () => {
    expect(envelopeKeyId(old)).toBe('k1');
    expect(envelopeKeyId(rewrapped)).toBe('k2');
    expect(openString(rotating, rewrapped, ctx)).toBe(SECRET);
  });

  it('a ring with only k2 opens the rewrapped value (k1 can be retired)', () => {
    expect(openString(onlyK2, rewrapped, ctx)).toBe(SECRET);
  });

  it('the old ring with only k1 can no longer open the rewrapped value', () => {
    expect(() => openString(onlyK1, rewrapped, ctx)).toThrow(
      expect.objectContaining({ code: 'unknown_key' }),
    );
    // Even if k2's id were known to the old ring under the old key, the bytes would not open.
    const oldKeyNewName = KeyRing.parse(spec(['k2', K1]));
    expect(() => openString(oldKeyNewName, rewrapped, ctx)).toThrow(
      expect.objectContaining({ code: 'open_failed' }),
    );
  });

  it('retiring k1 too early makes un-rewrapped values unknown_key, not garbage', () => {
    expect(() => openString(onlyK2, old, ctx)).toThrow(expect.objectContaining({ code: 'unknown_key' }));
  });

  it('keeps the context binding: a value cannot be rewrapped into another row', () => {
    expect(() => rewrap(rotating, old, { ...ctx, rowId: 'row_2' })).toThrow(
      expect.objectContaining({ code: 'open_failed' }),
    );
  });

  it('re-seals with a fresh IV even when the value is already under the primary', () => {
    const again = rewrap(rotating, rewrapped, ctx);
    expect(again).not.toBe(rewrapped);
    expect(openString(onlyK2, again, ctx)).toBe(SECRET);
  });
});

describe('needsRewrap', () => {
  it('is true iff the envelope key id is not the primary', () => {
    const underK1 = seal(onlyK1, SECRET, ctx);
    const underK2 = seal(rotating, SECRET, ctx);
    expect(needsRewrap(rotating, underK1)).toBe(true);
    expect(needsRewrap(rotating, underK2)).toBe(false);
    expect(needsRewrap(onlyK1, underK1)).toBe(false);
    expect(needsRewrap(onlyK1, underK2)).toBe(true);
    expect(needsRewrap(rotating, rewrap(rotating, underK1, ctx))).toBe(false);
  });

  it('refuses strings that are not envelopes', () => {
    expect(() => needsRewrap(rotating, SECRET)).toThrow(
      expect.objectContaining({ code: 'malformed_envelope' }),
    );
  });
});
