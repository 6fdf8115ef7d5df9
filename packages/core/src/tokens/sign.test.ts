import { randomBytes } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { describe, expect, it } from 'vitest';
import { SESSION_TTL_SECONDS } from './session.js';
import { signSession } from './sign.js';
import { verifySession } from './verify.js';

const SECRET = randomBytes(32);
const NOW = 1_750_000_000_000;

describe('signSession', () => {
  it('writes a compact HS256 JWS with the session claims', async () => {
    const token = await signSession(SECRET, { userId: 'usr_1', generation: 3, totp: false, now: NOW });
    expect(token.split('.')).toHaveLength(3);
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'HS256', typ: 'JWT' });
    const claims = decodeJwt(token);
    expect(claims).toMatchObject({
      iss: 'rampart',
      aud: 'rampart:dashboard',
      sub: 'usr_1',
      gen: 3,
      amr: ['pwd'],
      typ: 'session',
      iat: NOW / 1000,
      exp: NOW / 1000 + 30 * 24 * 3600,
    });
    expect(claims.jti).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(Object.keys(claims).sort()).toEqual([
      'amr',
      'aud',
      'exp',
      'gen',
      'iat',
      'iss',
      'jti',
      'sub',
      'typ',
    ]);
  });

  it('defaults to a 30-day lifetime and honours ttlSeconds', async () => {
    expect(SESSION_TTL_SECONDS).toBe(2_592_000);
    const short = decodeJwt(
      await signSession(SECRET, { userId: 'u', generation: 0, totp: true, ttlSeconds: 60, now: NOW }),
    );
    expect((short.exp ?? 0) - (short.iat ?? 0)).toBe(60);
  });

  it('carries the sign-in it belongs to as sid, and verifySession returns it', async () => {
    const token = await signSession(SECRET, {
      userId: 'u',
      generation: 0,
      totp: false,
      sessionId: 'fam-1',
      now: NOW,
    });
    expect(decodeJwt(token).sid).toBe('fam-1');
    expect((await verifySession(SECRET, token, { now: NOW })).sessionId).toBe('fam-1');
    const plain = await signSession(SECRET, { userId: 'u', generation: 0, totp: false, now: NOW });
    expect(decodeJwt(plain).sid).toBeUndefined();
    expect(await verifySession(SECRET, plain, { now: NOW })).not.toHaveProperty('sessionId');
    await expect(
      signSession(SECRET, { userId: 'u', generation: 0, totp: false, sessionId: '' }),
    ).rejects.toThrow(TypeError);
  });

  it('records a second factor as amr ["pwd","otp"]', async () => {
    const token = await signSession(SECRET, { userId: 'usr_1', generation: 0, totp: true, now: NOW });
    expect(decodeJwt(token).amr).toEqual(['pwd', 'otp']);
    expect((await verifySession(SECRET, token, { now: NOW })).amr).toEqual(['pwd', 'otp']);
  });

  it('round-trips through verifySession', async () => {
    const token = await signSession(SECRET, { userId: 'usr_42', generation: 7, totp: false, now: NOW });
    const claims = decodeJwt(token);
    expect(await verifySession(SECRET, token, { now: NOW + 1000 })).toEqual({
      userId: 'usr_42',
      generation: 7,
      amr: ['pwd'],
      exp: NOW / 1000 + SESSION_TTL_SECONDS,
      jti: claims.jti,
    });
  });

  it('gives every session its own jti', async () => {
    const jtis = new Set<unknown>();
    for (let i = 0; i < 200; i++) {
      jtis.add(
        decodeJwt(await signSession(SECRET, { userId: 'u', generation: 0, totp: false, now: NOW })).jti,
      );
    }
    expect(jtis.size).toBe(200);
  });

  it('a weak key is a configuration error: secrets under 32 bytes are refused', async () => {
    for (const secret of [randomBytes(31), new Uint8Array(0), Buffer.from('changeme')]) {
      await expect(signSession(secret, { userId: 'u', generation: 0, totp: false })).rejects.toThrow(
        RangeError,
      );
    }
    await expect(
      signSession('a'.repeat(64) as unknown as Uint8Array, { userId: 'u', generation: 0, totp: false }),
    ).rejects.toThrow(TypeError);
  });

  it('refuses malformed input as programmer errors', async () => {
    const ok = { userId: 'u', generation: 0, totp: false };
    await expect(signSession(SECRET, { ...ok, userId: '' })).rejects.toThrow(TypeError);
    await expect(signSession(SECRET, { ...ok, generation: -1 })).rejects.toThrow(RangeError);
    await expect(signSession(SECRET, { ...ok, generation: 1.5 })).rejects.toThrow(RangeError);
    await expect(signSession(SECRET, { ...ok, ttlSeconds: 0 })).rejects.toThrow(RangeError);
    await expect(signSession(SECRET, { ...ok, totp: 'yes' as unknown as boolean })).rejects.toThrow(
      TypeError,
    );
  });
});
