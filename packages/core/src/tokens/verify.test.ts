import { createHmac, generateKeyPairSync, randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { TokenError, type TokenErrorCode } from './errors.js';
import { signSession } from './sign.js';
import { verifySession } from './verify.js';

const SECRET = randomBytes(32);
const OTHER_SECRET = randomBytes(32);
const NOW = 1_750_000_000_000;
const NOW_S = NOW / 1000;

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const hs256 = (input: string, key: Uint8Array = SECRET) =>
  createHmac('sha256', key).update(input).digest('base64url');

/** A token built by hand: any header, any payload, a signature computed (or not) however the attacker likes. */
function craft(header: object, payload: object, sign: (input: string) => string = (i) => hs256(i)): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${sign(input)}`;
}

const CLAIMS = {
  iss: 'rampart',
  aud: 'rampart:dashboard',
  sub: 'usr_1',
  gen: 0,
  amr: ['pwd'],
  typ: 'session',
  iat: NOW_S,
  exp: NOW_S + 3600,
  jti: 'jti-1',
};
const HEADER = { alg: 'HS256', typ: 'JWT' };

async function refused(token: string, secret: Uint8Array = SECRET, now = NOW): Promise<TokenError> {
  const err = await verifySession(secret, token, { now }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TokenError);
  return err as TokenError;
}

async function expectCode(code: TokenErrorCode, token: string, now = NOW): Promise<TokenError> {
  const err = await refused(token, SECRET, now);
  expect(err.code).toBe(code);
  return err;
}

describe('control: a hand-crafted token with the right claims and key verifies', () => {
  it('so every refusal below is caused by the one thing each test changes', async () => {
    expect(await verifySession(SECRET, craft(HEADER, CLAIMS), { now: NOW })).toMatchObject({
      userId: 'usr_1',
    });
  });
});

describe('algorithm attacks', () => {
  it.each(['none', 'None', 'NONE', 'nOnE'])('alg: %s with an empty signature is refused', async (alg) => {
    const token = craft({ alg, typ: 'JWT' }, CLAIMS, () => '');
    const err = await expectCode('invalid', token);
    expect(err.reason).toBe('ERR_JOSE_ALG_NOT_ALLOWED');
  });

  it('alg: none with a (valid HS256) signature left on is refused', async () => {
    await expectCode('invalid', craft({ alg: 'none', typ: 'JWT' }, CLAIMS));
  });

  it.each(['HS384', 'HS512'] as const)('re-signed with %s and the same secret is refused', async (alg) => {
    const token = await new SignJWT(CLAIMS).setProtectedHeader({ alg, typ: 'JWT' }).sign(SECRET);
    const err = await expectCode('invalid', token);
    expect(err.reason).toBe('ERR_JOSE_ALG_NOT_ALLOWED');
  });

  it('algorithm confusion: header RS256 with a garbage signature is refused', async () => {
    const token = craft({ alg: 'RS256', typ: 'JWT' }, CLAIMS, () => randomBytes(256).toString('base64url'));
    await expectCode('invalid', token);
  });

  it('algorithm confusion: header RS256 over a signature made with the HMAC secret is refused', async () => {
    await expectCode('invalid', craft({ alg: 'RS256', typ: 'JWT' }, CLAIMS));
  });

  it('a genuinely RS256-signed token (attacker’s own key pair) is refused', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const token = await new SignJWT(CLAIMS).setProtectedHeader({ alg: 'RS256', typ: 'JWT' }).sign(privateKey);
    await expectCode('invalid', token);
  });

  it('embedded-key injection: a jwk / jku / kid header naming the attacker’s key changes nothing', async () => {
    const attacker = randomBytes(32);
    const jwk = { kty: 'oct', k: attacker.toString('base64url') };
    for (const extra of [{ jwk }, { jku: 'https://evil.example/jwks.json' }, { kid: 'attacker' }]) {
      await expectCode(
        'invalid',
        craft({ ...HEADER, ...extra }, CLAIMS, (i) => hs256(i, attacker)),
      );
    }
  });

  it('an unknown critical header is refused', async () => {
    await expectCode('invalid', craft({ ...HEADER, crit: ['exp-ext'], 'exp-ext': 1 }, CLAIMS));
  });
});

describe('forgery and tampering', () => {
  it('signed with another secret is refused', async () => {
    const token = await signSession(OTHER_SECRET, { userId: 'usr_1', generation: 0, totp: false, now: NOW });
    const err = await expectCode('invalid', token);
    expect(err.reason).toBe('ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
  });

  it('privilege escalation by editing the payload (sub, gen, amr) keeps the old signature and is refused', async () => {
    const token = await signSession(SECRET, { userId: 'usr_1', generation: 0, totp: false, now: NOW });
    const [header, , signature] = token.split('.') as [string, string, string];
    for (const edit of [
      { sub: 'usr_admin' },
      { gen: 1 },
      { amr: ['pwd', 'otp'] },
      { exp: NOW_S + 10 ** 9 },
    ]) {
      await expectCode('invalid', `${header}.${b64({ ...CLAIMS, ...edit })}.${signature}`);
    }
  });

  it('flipping any character of the signature is refused', async () => {
    const token = await signSession(SECRET, { userId: 'usr_1', generation: 0, totp: false, now: NOW });
    const at = token.lastIndexOf('.') + 1;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    for (let i = at; i < token.length; i++) {
      // +4 in the alphabet flips a bit that carries data even in the last character, whose two low bits are
      // padding in a 32-byte signature ('A' <-> 'B' there can decode to the same bytes: not a tamper at all).
      const c = alphabet[(alphabet.indexOf(token[i] as string) + 4) % 64];
      await expectCode('invalid', `${token.slice(0, i)}${c}${token.slice(i + 1)}`);
    }
  });

  it.each([
    ['signature stripped', (t: string) => t.slice(0, t.lastIndexOf('.') + 1)],
    ['two parts', (t: string) => t.slice(0, t.lastIndexOf('.'))],
    ['JWE-shaped (five parts)', (t: string) => `${t}.AAAA.BBBB`],
    ['empty', () => ''],
    ['whitespace around', (t: string) => ` ${t} `],
    ['oversized', (t: string) => `${t}${'A'.repeat(5000)}`],
  ])('malformed: %s', async (_name, mangle) => {
    const token = await signSession(SECRET, { userId: 'usr_1', generation: 0, totp: false, now: NOW });
    await expectCode('invalid', mangle(token));
  });

  it('a non-string token is refused as invalid, not a crash', async () => {
    for (const value of [undefined, null, 42, {}]) await expectCode('invalid', value as unknown as string);
  });
});

describe('claims', () => {
  it('expired: refused at exp, accepted one second before', async () => {
    const token = await signSession(SECRET, {
      userId: 'usr_1',
      generation: 0,
      totp: false,
      ttlSeconds: 60,
      now: NOW,
    });
    expect((await verifySession(SECRET, token, { now: NOW + 59_000 })).userId).toBe('usr_1');
    const err = await expectCode('expired', token, NOW + 60_000);
    expect(err.claim).toBe('exp');
    await expectCode('expired', token, NOW + 31 * 24 * 3600 * 1000);
  });

  it('an expired token that is also forged is invalid, not expired (signature first)', async () => {
    const forged = craft(HEADER, { ...CLAIMS, exp: NOW_S - 10 }, (i) => hs256(i, OTHER_SECRET));
    await expectCode('invalid', forged);
  });

  it.each([
    ['wrong audience', { aud: 'rampart:widget' }, 'aud'],
    ['audience list without ours', { aud: ['rampart:runtime'] }, 'aud'],
    ['wrong issuer', { iss: 'evil' }, 'iss'],
    ['missing issuer', { iss: undefined }, 'iss'],
  ])('%s is refused', async (_name, edit, claim) => {
    const err = await expectCode('invalid', craft(HEADER, { ...CLAIMS, ...edit }));
    expect(err.claim).toBe(claim);
  });

  it.each(['exp', 'iat', 'jti', 'sub'])('a token without %s is refused', async (claim) => {
    const { [claim as keyof typeof CLAIMS]: _dropped, ...rest } = CLAIMS;
    await expectCode('invalid', craft(HEADER, rest));
  });

  it.each([
    ['gen missing', { gen: undefined }],
    ['gen as string', { gen: '0' }],
    ['gen negative', { gen: -1 }],
    ['amr otp only', { amr: ['otp'] }],
    ['amr as string', { amr: 'pwd' }],
    ['amr with extra method', { amr: ['pwd', 'otp', 'hwk'] }],
    ['empty sub', { sub: '' }],
  ])('shape: %s (signed with our secret) is invalid', async (_name, edit) => {
    await expectCode('invalid', craft(HEADER, { ...CLAIMS, ...edit }));
  });

  it('token confusion: a runtime token signed with the same secret is wrong_type', async () => {
    const err = await expectCode('wrong_type', craft(HEADER, { ...CLAIMS, typ: 'runtime' }));
    expect(err.claim).toBe('typ');
    await expectCode('wrong_type', craft(HEADER, { ...CLAIMS, typ: undefined }));
  });

  it('a header typ other than JWT (e.g. at+jwt) is refused', async () => {
    await expectCode('invalid', craft({ alg: 'HS256', typ: 'at+jwt' }, CLAIMS));
    await expectCode('invalid', craft({ alg: 'HS256' }, CLAIMS));
  });

  it('a weak verification key is refused outright (RangeError), never used', async () => {
    const token = await signSession(SECRET, { userId: 'usr_1', generation: 0, totp: false, now: NOW });
    await expect(verifySession(SECRET.subarray(0, 31), token, { now: NOW })).rejects.toThrow(RangeError);
  });
});

describe('the secret and the token never appear in a TokenError', () => {
  const forbidden = (token: string) => {
    const [header, payload, signature] = token.split('.') as [string, string, string];
    return [
      token,
      payload,
      signature,
      `${header}.${payload}`,
      'usr_victim',
      SECRET.toString('base64'),
      SECRET.toString('base64url'),
      SECRET.toString('hex'),
      SECRET.toString('latin1'),
    ].filter((s) => s.length > 0);
  };

  it.each<[string, () => Promise<string>, number]>([
    [
      'expired',
      () =>
        signSession(SECRET, { userId: 'usr_victim', generation: 0, totp: false, ttlSeconds: 1, now: NOW }),
      NOW + 5000,
    ],
    [
      'forged',
      () => signSession(OTHER_SECRET, { userId: 'usr_victim', generation: 0, totp: false, now: NOW }),
      NOW,
    ],
    ['wrong audience', async () => craft(HEADER, { ...CLAIMS, sub: 'usr_victim', aud: 'x' }), NOW],
    ['wrong type', async () => craft(HEADER, { ...CLAIMS, sub: 'usr_victim', typ: 'runtime' }), NOW],
    ['alg none', async () => craft({ alg: 'none' }, { ...CLAIMS, sub: 'usr_victim' }, () => ''), NOW],
    ['bad amr', async () => craft(HEADER, { ...CLAIMS, sub: 'usr_victim', amr: ['x'] }), NOW],
  ])('%s', async (_name, make, now) => {
    const token = await make();
    const err = await refused(token, SECRET, now);
    expect(err.cause).toBeUndefined();
    const renderings = [
      err.message,
      String(err),
      JSON.stringify(err),
      inspect(err, { depth: 5 }),
      err.stack ?? '',
    ];
    for (const text of renderings) for (const secret of forbidden(token)) expect(text).not.toContain(secret);
  });
});
