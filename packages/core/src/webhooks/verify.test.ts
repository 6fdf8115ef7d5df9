import { createHmac } from 'node:crypto';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { WebhookError, type WebhookErrorCode } from './errors.js';
import { standardWebhookHeaders } from './headers.js';
import { generateWebhookSecret } from './secret.js';
import { signStandardWebhook } from './sign.js';
import { type VerifyStandardWebhookOptions, verifyStandardWebhook, type WebhookHeaders } from './verify.js';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const OTHER_SECRET = generateWebhookSecret();
const ID = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
const TS = 1614265330;
const NOW = TS * 1000;
const BODY = '{"test": 2432232314}';
const SIGNATURE = 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=';
const SIG_B64 = SIGNATURE.slice(3);
const HEADERS = { 'webhook-id': ID, 'webhook-timestamp': String(TS), 'webhook-signature': SIGNATURE };

/** An attacker's HMAC over any content, with any key: bypasses the signer's own input checks. */
const rawSign = (content: string, secret = SECRET) =>
  createHmac('sha256', Buffer.from(secret.slice('whsec_'.length), 'base64'))
    .update(content)
    .digest('base64');

function verify(overrides: Partial<VerifyStandardWebhookOptions> = {}) {
  return verifyStandardWebhook({ secret: SECRET, headers: HEADERS, body: BODY, now: NOW, ...overrides });
}

function refused(run: () => unknown): WebhookError {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(WebhookError);
    return err as WebhookError;
  }
  throw new Error('expected a WebhookError, but the delivery was accepted');
}

function expectCode(code: WebhookErrorCode, run: () => unknown): WebhookError {
  const err = refused(run);
  expect(err.code).toBe(code);
  return err;
}

const withHeaders = (headers: Record<string, string | string[] | undefined>) => () =>
  verify({ headers: { ...HEADERS, ...headers } });

describe('authentic deliveries', () => {
  it('accepts the spec vector and returns its id and timestamp', () => {
    expect(verify()).toEqual({ id: ID, timestamp: TS });
  });

  it('accepts the body as bytes, and headers as a fetch Headers or with mixed-case names and 1-element arrays', () => {
    expect(verify({ body: Buffer.from(BODY) }).id).toBe(ID);
    expect(verify({ body: new Uint8Array(Buffer.from(BODY)) }).id).toBe(ID);
    expect(verify({ headers: new Headers(HEADERS) }).id).toBe(ID);
    expect(
      verify({
        headers: { 'Webhook-Id': [ID], 'WEBHOOK-TIMESTAMP': String(TS), 'webhook-Signature': SIGNATURE },
      }).id,
    ).toBe(ID);
  });

  it('round-trips standardWebhookHeaders with a generated secret and a binary body', () => {
    const secret = generateWebhookSecret();
    const body = Buffer.from([0, 255, 46, 10, 0xc3]);
    const headers = standardWebhookHeaders({ secret, id: 'evt_1', timestamp: 1_750_000_000, body });
    expect(verifyStandardWebhook({ secret, headers, body, now: 1_750_000_000_000 })).toEqual({
      id: 'evt_1',
      timestamp: 1_750_000_000,
    });
  });

  it('checks against Date.now() by default: a fresh delivery passes, the 2021 vector is expired', () => {
    const timestamp = Math.floor(Date.now() / 1000);
    const headers = standardWebhookHeaders({ secret: SECRET, id: ID, timestamp, body: BODY });
    expect(verifyStandardWebhook({ secret: SECRET, headers, body: BODY }).timestamp).toBe(timestamp);
    expectCode('expired', () => verifyStandardWebhook({ secret: SECRET, headers: HEADERS, body: BODY }));
  });
});

describe('tampering', () => {
  it('tampered body → invalid_signature (one byte, trailing whitespace, re-serialised JSON)', () => {
    for (const body of ['{"test": 2432232315}', `${BODY}\n`, JSON.stringify(JSON.parse(BODY)), '']) {
      expectCode('invalid_signature', () => verify({ body }));
    }
  });

  it('tampered id → invalid_signature (a signed delivery cannot be re-labelled as another event)', () => {
    expectCode('invalid_signature', withHeaders({ 'webhook-id': 'msg_p5jXN8AQM9LWM0D4loKWxJel' }));
    expectCode('invalid_signature', withHeaders({ 'webhook-id': 'msg_other' }));
  });

  it('tampered timestamp → invalid_signature (an old capture cannot be freshened)', () => {
    expectCode('invalid_signature', withHeaders({ 'webhook-timestamp': String(TS + 1) }));
    const err = expectCode('invalid_signature', () =>
      verify({ headers: { ...HEADERS, 'webhook-timestamp': String(TS + 86_400) }, now: NOW + 86_400_000 }),
    );
    expect(err.reason).toBe('mismatch');
  });

  it('signature made with another secret → invalid_signature', () => {
    const forged = signStandardWebhook({ secret: OTHER_SECRET, id: ID, timestamp: TS, body: BODY });
    expectCode('invalid_signature', withHeaders({ 'webhook-signature': forged }));
    expectCode('invalid_signature', () => verify({ secret: OTHER_SECRET }));
  });

  it('truncated signature → invalid_signature, even though every character present is right', () => {
    for (const length of [43, 42, 32, 22, 16, 8, 1]) {
      expectCode('invalid_signature', withHeaders({ 'webhook-signature': `v1,${SIG_B64.slice(0, length)}` }));
    }
  });

  it('extended signature (right signature plus extra characters) → invalid_signature', () => {
    expectCode('invalid_signature', withHeaders({ 'webhook-signature': `${SIGNATURE}A` }));
    expectCode('invalid_signature', withHeaders({ 'webhook-signature': `${SIGNATURE}==` }));
  });

  it('non-canonical base64 of the right MAC (padding dropped, base64url) → invalid_signature', () => {
    const url = Buffer.from(SIG_B64, 'base64').toString('base64url');
    for (const variant of [SIG_B64.replace(/=$/, ''), url, `${url}=`]) {
      expectCode('invalid_signature', withHeaders({ 'webhook-signature': `v1,${variant}` }));
    }
  });

  it('multi-byte characters of the same string length do not crash the comparison', () => {
    const sameLength = `é${SIG_B64.slice(1)}`;
    expect(sameLength).toHaveLength(SIG_B64.length);
    expectCode('invalid_signature', withHeaders({ 'webhook-signature': `v1,${sameLength}` }));
    expectCode('invalid_signature', withHeaders({ 'webhook-signature': `v1,${'\u{1F511}'.repeat(22)}` }));
  });

  it('version downgrade/confusion: the right MAC labelled v1a, v2, V1 or v0 is not checked → invalid_signature', () => {
    for (const version of ['v1a', 'v2', 'V1', 'v0', 'v10']) {
      const err = expectCode(
        'invalid_signature',
        withHeaders({ 'webhook-signature': `${version},${SIG_B64}` }),
      );
      expect(err.reason).toBe('no v1 signature');
    }
  });
});

describe('signature lists (secret rotation)', () => {
  const old = signStandardWebhook({ secret: OTHER_SECRET, id: ID, timestamp: TS, body: BODY });
  const v1a = `v1a,${Buffer.alloc(64, 7).toString('base64')}`;

  it('accepts a list where exactly one v1 entry is valid, in any position, alongside other versions', () => {
    for (const list of [
      `${old} ${SIGNATURE}`,
      `${SIGNATURE} ${old}`,
      `${v1a} ${old} ${SIGNATURE}`,
      `${SIGNATURE} v2,whatever`,
      `  ${old}   ${SIGNATURE}  `,
    ]) {
      expect(verify({ headers: { ...HEADERS, 'webhook-signature': list } }).id).toBe(ID);
    }
  });

  it('refuses a list where no v1 entry is valid', () => {
    expectCode('invalid_signature', withHeaders({ 'webhook-signature': `${old} ${v1a}` }));
    expectCode(
      'invalid_signature',
      withHeaders({ 'webhook-signature': `${old} v1,${SIG_B64.slice(0, 40)}` }),
    );
  });

  it('a duplicated signature header merged by the HTTP layer ("a, b") still needs a valid entry', () => {
    expect(verify({ headers: { ...HEADERS, 'webhook-signature': `${old}, ${SIGNATURE}` } }).id).toBe(ID);
    expectCode('invalid_signature', withHeaders({ 'webhook-signature': `${SIGNATURE}, ${old}` }));
  });
});

describe('replay window', () => {
  it('replayed old delivery → expired (too_old), just past the 300 s default', () => {
    const err = expectCode('expired', () => verify({ now: NOW + 301_000 }));
    expect(err.reason).toBe('too_old');
    expectCode('expired', () => verify({ now: NOW + 86_400_000 * 365 }));
  });

  it('timestamp in the future → expired (too_new), just past the window', () => {
    const err = expectCode('expired', () => verify({ now: NOW - 301_000 }));
    expect(err.reason).toBe('too_new');
    const future = TS + 3600;
    const headers = standardWebhookHeaders({ secret: SECRET, id: ID, timestamp: future, body: BODY });
    expectCode('expired', () => verify({ headers }));
  });

  it('accepts the edges of the window, inclusive (sub-second now is floored)', () => {
    expect(verify({ now: NOW + 300_000 }).id).toBe(ID);
    expect(verify({ now: NOW + 300_999 }).id).toBe(ID);
    expect(verify({ now: NOW - 300_000 }).id).toBe(ID);
  });

  it('honours toleranceSeconds', () => {
    expectCode('expired', () => verify({ now: NOW + 11_000, toleranceSeconds: 10 }));
    expect(verify({ now: NOW + 10_000, toleranceSeconds: 10 }).id).toBe(ID);
    expect(verify({ toleranceSeconds: 0 }).id).toBe(ID);
    expectCode('expired', () => verify({ now: NOW + 1000, toleranceSeconds: 0 }));
  });

  it('a forged old delivery is invalid_signature, not expired: freshness is only reported for authentic ones', () => {
    const err = expectCode('invalid_signature', () => verify({ body: 'forged', now: NOW + 86_400_000 }));
    expect(err.reason).toBe('mismatch');
  });
});

describe('malformed headers', () => {
  it.each<[string, Record<string, string | string[] | undefined>]>([
    ['missing webhook-id', { 'webhook-id': undefined }],
    ['missing webhook-timestamp', { 'webhook-timestamp': undefined }],
    ['missing webhook-signature', { 'webhook-signature': undefined }],
    ['empty webhook-id', { 'webhook-id': '' }],
    ['empty webhook-timestamp', { 'webhook-timestamp': '' }],
    ['empty webhook-signature', { 'webhook-signature': '' }],
    ['blank webhook-signature', { 'webhook-signature': '   ' }],
    ['id with a space', { 'webhook-id': 'msg 1' }],
    ['id with a control character', { 'webhook-id': 'msg\u00011' }],
    ['id with non-ASCII', { 'webhook-id': 'msg_é' }],
    ['id over 256 characters', { 'webhook-id': 'm'.repeat(257) }],
    ['timestamp not a number', { 'webhook-timestamp': 'yesterday' }],
    ['timestamp negative', { 'webhook-timestamp': '-1614265330' }],
    ['timestamp with a plus sign', { 'webhook-timestamp': '+1614265330' }],
    ['timestamp fractional', { 'webhook-timestamp': '1614265330.5' }],
    ['timestamp in exponent form', { 'webhook-timestamp': '1.61426533e9' }],
    ['timestamp hexadecimal', { 'webhook-timestamp': '0x6037b5f2' }],
    ['timestamp with leading zeros', { 'webhook-timestamp': '01614265330' }],
    ['timestamp with surrounding space', { 'webhook-timestamp': ` ${TS}` }],
    ['timestamp in milliseconds beyond 15 digits', { 'webhook-timestamp': '1614265330000000' }],
    ['signature entry without a version', { 'webhook-signature': SIG_B64 }],
    ['signature entry with an empty version', { 'webhook-signature': `,${SIG_B64}` }],
    ['signature entry with an empty value', { 'webhook-signature': 'v1,' }],
    ['one malformed entry beside a valid one', { 'webhook-signature': `${SIGNATURE} garbage` }],
    ['webhook-id sent twice (array)', { 'webhook-id': [ID, 'msg_other'] }],
    ['webhook-timestamp sent twice (array)', { 'webhook-timestamp': [String(TS), String(TS)] }],
    ['empty array', { 'webhook-id': [] }],
  ])('%s → malformed', (_name, headers) => {
    expectCode('malformed', withHeaders(headers));
  });

  it('the same header under two spellings in a plain object → malformed (which one was signed?)', () => {
    expectCode('malformed', withHeaders({ 'Webhook-Id': 'msg_other' }));
    expectCode('malformed', withHeaders({ 'WEBHOOK-SIGNATURE': SIGNATURE }));
  });

  it('a merged duplicate webhook-id or webhook-timestamp ("a, b") → malformed', () => {
    expectCode('malformed', withHeaders({ 'webhook-id': `${ID}, msg_other` }));
    expectCode('malformed', () => {
      const headers = new Headers(HEADERS);
      headers.append('webhook-timestamp', String(TS));
      return verify({ headers });
    });
  });

  it('headers that are not an object → malformed, not a crash', () => {
    for (const headers of [null, undefined, 'webhook-id: x', 42]) {
      expectCode('malformed', () => verify({ headers: headers as unknown as WebhookHeaders }));
    }
  });

  it('reports which header was malformed in `reason`', () => {
    expect(expectCode('malformed', withHeaders({ 'webhook-id': undefined })).reason).toBe('webhook-id');
    expect(expectCode('malformed', withHeaders({ 'webhook-timestamp': 'x' })).reason).toBe(
      'webhook-timestamp',
    );
    expect(expectCode('malformed', withHeaders({ 'webhook-signature': '' })).reason).toBe(
      'webhook-signature',
    );
  });
});

describe('timestamp smuggled through a "." in the id (the spec’s warning)', () => {
  // The sender signs id "msg_a", timestamp T and a body that happens to start with digits and a dot. The signed
  // content "msg_a.T.1999999999.{…}" also parses as id "msg_a.T", timestamp 1999999999, body "{…}": the same
  // MAC, with an attacker-chosen timestamp. Refusing "." in ids closes it.
  const payload = '{"amount": 1}';
  const fresh = 1_999_999_999;
  const mac = rawSign(`msg_a.${TS}.${fresh}.${payload}`);

  it('the reinterpreted delivery is refused as malformed, whatever the clock', () => {
    const headers = {
      'webhook-id': `msg_a.${TS}`,
      'webhook-timestamp': String(fresh),
      'webhook-signature': `v1,${mac}`,
    };
    expectCode('malformed', () => verify({ headers, body: payload, now: fresh * 1000 }));
  });

  it('and the signer refuses to produce ids containing "."', () => {
    expect(() => signStandardWebhook({ secret: SECRET, id: 'msg.1', timestamp: TS, body: BODY })).toThrow(
      TypeError,
    );
  });
});

describe('configuration errors are not WebhookErrors', () => {
  it.each<[string, Partial<VerifyStandardWebhookOptions>, ErrorConstructor]>([
    ['secret without whsec_', { secret: 'MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' }, RangeError],
    ['secret that is not base64', { secret: 'whsec_not*base64!' }, RangeError],
    ['secret of 16 bytes', { secret: `whsec_${Buffer.alloc(16, 1).toString('base64')}` }, RangeError],
    ['secret of 65 bytes', { secret: `whsec_${Buffer.alloc(65, 1).toString('base64')}` }, RangeError],
    ['secret not a string', { secret: Buffer.alloc(32) as unknown as string }, TypeError],
    ['negative now', { now: -1 }, RangeError],
    ['NaN now', { now: Number.NaN }, RangeError],
    ['negative tolerance', { toleranceSeconds: -1 }, RangeError],
    ['infinite tolerance', { toleranceSeconds: Number.POSITIVE_INFINITY }, RangeError],
    ['a parsed JSON body', { body: JSON.parse(BODY) as string }, TypeError],
  ])('%s', (_name, overrides, type) => {
    expect(() => verify(overrides)).toThrow(type);
  });

  it('secret edge sizes 24 and 64 bytes are accepted, padded or not', () => {
    for (const size of [24, 32, 64]) {
      const b64 = Buffer.alloc(size, 9).toString('base64');
      for (const secret of [`whsec_${b64}`, `whsec_${b64.replace(/=+$/, '')}`]) {
        const headers = standardWebhookHeaders({ secret, id: ID, timestamp: TS, body: BODY });
        expect(verify({ secret, headers }).id).toBe(ID);
      }
    }
  });
});

describe('error messages never contain the secret, the signatures, the id or the body', () => {
  const key = SECRET.slice('whsec_'.length);
  const forbidden = [
    SECRET,
    key,
    key.slice(0, 12),
    SIGNATURE,
    SIG_B64,
    SIG_B64.slice(0, 12),
    ID,
    BODY,
    '2432232314',
  ];
  it.each<[string, () => unknown]>([
    ['invalid_signature', () => verify({ body: `${BODY} ` })],
    ['invalid_signature (wrong secret)', () => verify({ secret: OTHER_SECRET })],
    ['expired', () => verify({ now: NOW + 10_000_000 })],
    ['malformed', withHeaders({ 'webhook-signature': SIG_B64 })],
    ['malformed (id)', withHeaders({ 'webhook-id': `${ID} ${SIG_B64}` })],
  ])('%s', (_name, run) => {
    const err = refused(run);
    const renderings = [
      err.message,
      String(err),
      JSON.stringify(err),
      inspect(err, { depth: 5 }),
      err.stack ?? '',
    ];
    expect(JSON.parse(JSON.stringify(err))).toMatchObject({ name: 'WebhookError', code: err.code });
    for (const text of renderings) {
      for (const secret of forbidden) expect(text).not.toContain(secret);
    }
  });

  it('configuration errors do not echo the secret either', () => {
    for (const secret of [
      'whsec_c2hvcnQ=',
      'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS*',
      'MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
    ]) {
      let message = '';
      try {
        verify({ secret });
      } catch (err) {
        message = `${String(err)} ${inspect(err)}`;
      }
      expect(message).not.toBe('');
      expect(message).not.toContain(secret.replace(/^whsec_/, ''));
    }
  });
});
