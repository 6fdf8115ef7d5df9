import { createHmac, randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { decodeProtectedHeader } from 'jose';
import { describe, expect, it } from 'vitest';
import { TokenError } from './errors.js';
import { LEGACY_KEY_ID, SessionKeyRing } from './keyring.js';
import { signSession } from './sign.js';
import { verifySession } from './verify.js';

const OLD = randomBytes(32);
const NEW = randomBytes(32);
const NOW = 1_750_000_000_000;
const SESSION = { userId: 'usr_1', generation: 0, totp: false, now: NOW };

const ring = (...keys: Array<[string, Buffer]>) =>
  SessionKeyRing.fromKeys(keys.map(([id, key]) => ({ id, key })));

async function refusal(keys: SessionKeyRing | Uint8Array, token: string): Promise<TokenError> {
  const err = await verifySession(keys, token, { now: NOW }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TokenError);
  expect((err as TokenError).code).toBe('invalid');
  return err as TokenError;
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
/** A session signed by hand with `key` under any header. */
function craft(header: object, key: Uint8Array): string {
  const claims = {
    iss: 'rampart',
    aud: 'rampart:dashboard',
    sub: 'usr_1',
    gen: 0,
    amr: ['pwd'],
    typ: 'session',
    iat: NOW / 1000,
    exp: NOW / 1000 + 60,
    jti: 'j',
  };
  const input = `${b64({ alg: 'HS256', typ: 'JWT', ...header })}.${b64(claims)}`;
  return `${input}.${createHmac('sha256', key).update(input).digest('base64url')}`;
}

describe('SessionKeyRing', () => {
  it('the first key is the primary; ids in order; bytes copied and never shown', () => {
    const input = Buffer.from(NEW);
    const r = ring(['new', input], ['old', OLD]);
    input.fill(0);
    expect(r.primaryId).toBe('new');
    expect(r.ids).toEqual(['new', 'old']);
    expect(r.keyFor('new')?.equals(NEW)).toBe(true);
    expect(r.has('old')).toBe(true);
    expect(r.keyFor('gone')).toBeUndefined();
    for (const text of [JSON.stringify(r), inspect(r, { depth: 5 }), String(r)]) {
      for (const k of [NEW, OLD]) {
        expect(text).not.toContain(k.toString('base64'));
        expect(text).not.toContain(k.toString('hex'));
      }
    }
    expect(JSON.parse(JSON.stringify(r))).toEqual({ primaryId: 'new', ids: ['new', 'old'] });
  });

  it('single(): a bare secret is the key with id "default"', () => {
    const r = SessionKeyRing.single(OLD);
    expect(LEGACY_KEY_ID).toBe('default');
    expect(r.ids).toEqual(['default']);
    expect(() => SessionKeyRing.single(randomBytes(31))).toThrow(RangeError);
    expect(() => SessionKeyRing.single('x'.repeat(40) as unknown as Uint8Array)).toThrow(TypeError);
  });

  it.each<[string, Array<{ id: string; key: Uint8Array }>, RegExp]>([
    ['empty', [], /at least one key/],
    ['bad id characters', [{ id: 'a:b', key: OLD }], /^entry 1: key id must be 1-32 characters/],
    ['empty id', [{ id: '', key: OLD }], /^entry 1: key id/],
    ['id too long', [{ id: 'a'.repeat(33), key: OLD }], /^entry 1: key id/],
    ['short key', [{ id: 'a', key: randomBytes(31) }], /^entry 1: key must be at least 32 bytes/],
    [
      'duplicate id',
      [
        { id: 'k1', key: NEW },
        { id: 'k2', key: randomBytes(32) },
        { id: 'k1', key: OLD },
      ],
      /^entry 3: key id "k1" is already used by entry 1$/,
    ],
    [
      'same key under two ids',
      [
        { id: 'a', key: OLD },
        { id: 'b', key: Buffer.from(OLD) },
      ],
      /^entry 2: key material duplicates entry 1$/,
    ],
  ])('refuses %s', (_name, keys, message) => {
    expect(() => SessionKeyRing.fromKeys(keys)).toThrow(message);
  });

  it('a malformed id is not echoed (it may be a key pasted in the wrong place)', () => {
    const pasted = OLD.toString('base64');
    let message = '';
    try {
      SessionKeyRing.fromKeys([{ id: pasted, key: NEW }]);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/^entry 1: /);
    expect(message).not.toContain(pasted);
  });
});

describe('sessions with key ids', () => {
  it('a ring signs with its primary key and writes its id as kid', async () => {
    const token = await signSession(ring(['new', NEW], ['old', OLD]), SESSION);
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'HS256', typ: 'JWT', kid: 'new' });
    expect((await verifySession(NEW, craft({}, NEW), { now: NOW })).userId).toBe('usr_1'); // control
    // A ring without the key the kid names refuses it; the key with that id verifies it.
    expect((await refusal(ring(['old', OLD]), token)).reason).toBe('kid');
    expect((await refusal(ring(['new', OLD]), token)).reason).toBe('ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
    expect((await verifySession(ring(['new', NEW]), token, { now: NOW })).userId).toBe('usr_1');
  });

  it('a bare secret signs without kid (the format from before key ids)', async () => {
    const token = await signSession(OLD, SESSION);
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'HS256', typ: 'JWT' });
  });

  it('the roll: a session signed by the old key verifies while the old key is in the ring, and not after', async () => {
    const before = await signSession(ring(['old', OLD]), SESSION);
    // Step 1: the new key is added second: it verifies, the old one still signs.
    const added = ring(['old', OLD], ['new', NEW]);
    expect((await verifySession(added, before, { now: NOW })).userId).toBe('usr_1');
    expect(decodeProtectedHeader(await signSession(added, SESSION)).kid).toBe('old');
    // Step 2: the new key is moved first: new sessions are signed by it, old ones still verify.
    const moved = ring(['new', NEW], ['old', OLD]);
    expect((await verifySession(moved, before, { now: NOW })).userId).toBe('usr_1');
    const after = await signSession(moved, SESSION);
    expect((await verifySession(added, after, { now: NOW })).userId).toBe('usr_1'); // a node not yet moved
    // Step 3: the old key is removed: its sessions are refused, the new ones are not.
    const removed = ring(['new', NEW]);
    const err = await refusal(removed, before);
    expect(err.reason).toBe('kid');
    expect((await verifySession(removed, after, { now: NOW })).userId).toBe('usr_1');
  });

  it('an unknown kid is refused without trying any key, even one whose signature would match', async () => {
    const r = ring(['new', NEW], ['old', OLD]);
    // Signed by a key in the ring, but labelled with an id the ring does not have.
    const err = await refusal(r, craft({ kid: 'other' }, NEW));
    expect(err.reason).toBe('kid');
    expect(err.message).not.toContain('other');
    // Labelled with one ring id, signed by the other key: no fallback to the key that would verify.
    expect((await refusal(r, craft({ kid: 'old' }, NEW))).reason).toBe(
      'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
    );
    for (const kid of [42, '', 'a'.repeat(33), '../x', null, ['new']]) {
      expect((await refusal(r, craft({ kid }, NEW))).reason).toBe('kid');
    }
  });

  it('a token without kid verifies only against the key with id "default"', async () => {
    const legacy = await signSession(OLD, SESSION); // what RAMPART_JWT_SECRET signed before key ids
    expect(decodeProtectedHeader(legacy).kid).toBeUndefined();
    // Moved into a ring under the legacy id, second or first: still valid.
    for (const r of [ring(['new', NEW], ['default', OLD]), ring(['default', OLD], ['new', NEW])]) {
      expect((await verifySession(r, legacy, { now: NOW })).userId).toBe('usr_1');
    }
    expect((await verifySession(OLD, legacy, { now: NOW })).userId).toBe('usr_1');
    // The same secret under another id does not verify it: no kid means the "default" key, nothing else.
    expect((await refusal(ring(['main', OLD]), legacy)).reason).toBe('kid');
    // Nor does the primary key when it is not "default", even if it signed the token.
    expect((await refusal(ring(['new', NEW]), craft({}, NEW))).reason).toBe('kid');
    // A bare secret verifies kid "default" and no other kid.
    expect((await verifySession(OLD, craft({ kid: 'default' }, OLD), { now: NOW })).userId).toBe('usr_1');
    expect((await refusal(OLD, craft({ kid: 'new' }, OLD))).reason).toBe('kid');
  });

  it('the algorithm is still checked before any key is looked up', async () => {
    const none = `${b64({ alg: 'none', typ: 'JWT', kid: 'new' })}.${b64({ sub: 'x' })}.`;
    expect((await refusal(ring(['new', NEW]), none)).reason).toBe('ERR_JOSE_ALG_NOT_ALLOWED');
  });
});
