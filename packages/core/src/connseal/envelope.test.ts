import { createCipheriv, pbkdf2Sync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CONNECTION_ENVELOPE_AAD, MIN_ITERATIONS, openConnection, sealConnection } from './index.js';

const API_KEY = 'rk_test_7Yc2qW9xLm4Vb8Nd3Pf6Rt1Hs5Jk0Ga';
const CONN = 'postgres://report:s3cret-PLAINTEXT@db.internal.example:5432/sales?sslmode=require';
const SALT = Uint8Array.from({ length: 16 }, (_, i) => i);
const IV = Uint8Array.from({ length: 12 }, (_, i) => 0xa0 + i);

describe('zero-knowledge connection envelopes (WebCrypto)', () => {
  it('round-trips, with fresh salt and IV each time', async () => {
    const a = await sealConnection(API_KEY, CONN);
    const b = await sealConnection(API_KEY, CONN);
    expect(a.kdf).toEqual({ name: 'PBKDF2', hash: 'SHA-256', iterations: MIN_ITERATIONS });
    expect(a.salt).not.toBe(b.salt);
    expect(a.ciphertext).not.toBe(b.ciphertext);
    expect(JSON.stringify(a)).not.toContain('s3cret');
    expect(await openConnection(API_KEY, a)).toBe(CONN);
  });

  it('matches an independent node:crypto implementation byte for byte (the published test vector)', async () => {
    const env = await sealConnection(API_KEY, CONN, { salt: SALT, iv: IV });
    const key = pbkdf2Sync(API_KEY, SALT, MIN_ITERATIONS, 32, 'sha256');
    const c = createCipheriv('aes-256-gcm', key, IV);
    c.setAAD(Buffer.from(CONNECTION_ENVELOPE_AAD));
    const expected = Buffer.concat([c.update(CONN, 'utf8'), c.final(), c.getAuthTag()]).toString('base64');
    expect(env.ciphertext).toBe(expected);
    // Pinned so a change of format is a visible, deliberate change (the same vector is in docs/DBACCESS.md).
    expect(env).toEqual({
      v: 1,
      ciphertext:
        'tdMkDZUImTGczbf34eyhXGJJno9LRjo6NjKT25ZV0hy0zUU65v3GJH/XwspFJM3CWdPy5uep907ryjyzk6Gi5C2m05Ef6yNpotgD9YqH+bfLZj9JOVwNSdFkOWCWhreKsw==',
      salt: 'AAECAwQFBgcICQoLDA0ODw==',
      iv: 'oKGio6Slpqeoqaqr',
      kdf: { name: 'PBKDF2', hash: 'SHA-256', iterations: 600000 },
    });
  });

  it('refuses a wrong key, a tampered envelope and weakened KDF parameters', async () => {
    const env = await sealConnection(API_KEY, CONN);
    await expect(openConnection(`${API_KEY}x`, env)).rejects.toThrow(/wrong key or tampered/);
    const flipped = Buffer.from(env.ciphertext, 'base64');
    flipped[0] = (flipped[0] ?? 0) ^ 1;
    await expect(openConnection(API_KEY, { ...env, ciphertext: flipped.toString('base64') })).rejects.toThrow(
      /wrong key or tampered/,
    );
    await expect(openConnection(API_KEY, { ...env, kdf: { ...env.kdf, iterations: 1_000 } })).rejects.toThrow(
      /unsupported/,
    );
    await expect(sealConnection(API_KEY, CONN, { iterations: 100_000 })).rejects.toThrow(RangeError);
    await expect(openConnection(API_KEY, { ...env, salt: 'AAAA' })).rejects.toThrow(/lengths/);
  });
});
