/**
 * TOTP two-factor authentication through the HTTP stack (issue 5; DESIGN invariant 5): enrolment and
 * confirmation, login needing the second factor, replayed codes refused, recovery codes single-use and
 * consumed atomically under concurrency, the secret sealed at rest. Codes come from an independent RFC 6238
 * implementation (@rampart/testing, totp.ts), itself checked against the RFC's vectors here.
 */
import {
  type Account,
  type Client,
  client,
  PASSWORD,
  type ApiResponse as Res,
  RFC6238_SECRET,
  signupAccount,
  totpAt,
} from '@rampart/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consumeRecoveryCode } from '../src/identity/accounts/second-factor.js';
import { ENGINES, startTestServer } from './helpers.js';

type Server = Awaited<ReturnType<typeof startTestServer>>;
const STEP_MS = 30_000;

/** A six-digit code valid at no step of the current ±1 window. */
function wrongCode(secret: string): string {
  const valid = new Set([-1, 0, 1, 2].map((k) => totpAt(secret, Date.now() + k * STEP_MS)));
  for (let n = 123_456; ; n = (n + 7_919) % 1_000_000) {
    const code = String(n).padStart(6, '0');
    if (!valid.has(code)) return code;
  }
}

const amrOf = (jwt: string): unknown =>
  JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString()).amr;

describe('the test oracle', () => {
  it.each([
    [59, '287082'],
    [1_111_111_109, '081804'],
    [1_234_567_890, '005924'],
    [2_000_000_000, '279037'],
  ])('matches RFC 6238 Appendix B (SHA-1) at T=%i', (t, code) => {
    expect(totpAt(RFC6238_SECRET, t * 1000)).toBe(code);
  });
});

describe.each(ENGINES)('TOTP 2FA (%s)', (engine) => {
  let srv: Server;
  let c: Client;
  beforeAll(async () => {
    srv = await startTestServer(engine, { RAMPART_TRUST_PROXY: '127.0.0.1' });
    c = client(srv.baseUrl);
  });
  afterAll(() => srv?.close());

  /** Enrols and confirms with the current code (which uses up the current step). */
  async function enable(a: Account) {
    const enroll = await c.post<{ secret: string; otpauthUrl: string }>(
      '/api/auth/totp/enroll',
      { password: a.password },
      a.token,
    );
    expect(enroll.status).toBe(200);
    const { secret } = enroll.body;
    const confirmCode = totpAt(secret, Date.now());
    const confirm = await c.post<{ recoveryCodes: string[] }>(
      '/api/auth/totp/confirm',
      { code: confirmCode },
      a.token,
    );
    expect(confirm.status).toBe(200);
    return { secret, confirmCode, recoveryCodes: confirm.body.recoveryCodes };
  }
  const login = (a: Account, extra: Record<string, string> = {}) =>
    c.post<{ token: string; error: string }>('/api/auth/login', {
      email: a.email,
      password: PASSWORD,
      ...extra,
    });

  it('full flow: enroll, confirm, then login needs the code (totp_required, wrong code, right code)', async () => {
    const a = await signupAccount(c, 'totp');
    const enroll = await c.post<{ secret: string; otpauthUrl: string }>(
      '/api/auth/totp/enroll',
      { password: a.password },
      a.token,
    );
    expect(enroll.status).toBe(200);
    const { secret, otpauthUrl } = enroll.body;
    expect(secret).toMatch(/^[A-Z2-7]{32,}$/);
    const url = new URL(otpauthUrl);
    expect(url.protocol).toBe('otpauth:');
    expect(url.host).toBe('totp');
    expect(url.searchParams.get('secret')).toBe(secret);
    expect(url.searchParams.get('issuer')).toBe('Rampart');
    // Not active until confirmed.
    expect((await login(a)).status).toBe(200);
    const bad = await c.post('/api/auth/totp/confirm', { code: wrongCode(secret) }, a.token);
    expect(bad.status).toBe(400);
    const confirm = await c.post<{ recoveryCodes: string[] }>(
      '/api/auth/totp/confirm',
      { code: totpAt(secret, Date.now()) },
      a.token,
    );
    expect(confirm.status).toBe(200);
    const codes = confirm.body.recoveryCodes;
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    for (const code of codes) expect(code).toMatch(/^[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}$/);
    expect((await c.get('/api/me', a.token)).body.totpEnabled).toBe(true);

    const missing = await login(a);
    expect(missing.status).toBe(401);
    expect(missing.body.error).toBe('totp_required');
    const wrong = await login(a, { totp: wrongCode(secret) });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error).toBe('invalid_credentials');
    const ok = await login(a, { totp: totpAt(secret, Date.now() + STEP_MS) });
    expect(ok.status).toBe(200);
    expect(amrOf(ok.body.token)).toEqual(['pwd', 'otp']);
  });

  it('a wrong password with a right code is still invalid_credentials (the code is not consumed)', async () => {
    const a = await signupAccount(c, 'totp-pw');
    const { secret } = await enable(a);
    const code = totpAt(secret, Date.now() + STEP_MS);
    const r = await c.post('/api/auth/login', { email: a.email, password: 'Not-The-Password-1', totp: code });
    expect(r.status).toBe(401);
    expect(r.body.error).toBe('invalid_credentials');
    expect((await login(a, { totp: code })).status).toBe(200);
  });

  it('replayed TOTP code: the same code (or an older one in the window) is refused after one use', async () => {
    const a = await signupAccount(c, 'replay');
    const { secret, confirmCode } = await enable(a);
    // The confirmation code itself cannot be replayed to log in.
    expect((await login(a, { totp: confirmCode })).status).toBe(401);
    const code = totpAt(secret, Date.now() + STEP_MS);
    expect((await login(a, { totp: code })).status).toBe(200);
    const replay = await login(a, { totp: code });
    expect(replay.status).toBe(401);
    expect(replay.body.error).toBe('invalid_credentials');
    const older = await login(a, { totp: totpAt(secret, Date.now()) });
    expect(older.status).toBe(401);
  });

  it('a recovery code works once (any letter case, dashes optional); the second use is 401', async () => {
    const a = await signupAccount(c, 'recovery');
    const { recoveryCodes } = await enable(a);
    const [first, second] = recoveryCodes;
    const ok = await login(a, { recoveryCode: first ?? '' });
    expect(ok.status).toBe(200);
    expect(amrOf(ok.body.token)).toEqual(['pwd', 'otp']);
    const again = await login(a, { recoveryCode: first ?? '' });
    expect(again.status).toBe(401);
    expect(again.body.error).toBe('invalid_credentials');
    const typed = (second ?? '').toUpperCase().replaceAll('-', ' ');
    expect((await login(a, { recoveryCode: typed })).status).toBe(200);
    expect((await login(a, { recoveryCode: second ?? '' })).status).toBe(401);
    expect((await login(a, { recoveryCode: 'zzzz-zzzz-zzzz' })).status).toBe(401);
  });

  /** `rounds` races of `n` simultaneous logins with one recovery code, each on a fresh account. */
  async function race(n: number, rounds: number) {
    for (let round = 0; round < rounds; round++) {
      // A fresh account per round: the losers' failures never add up to an account lock-out (429).
      const a = await signupAccount(c, `race${n}`);
      const [code = ''] = (await enable(a)).recoveryCodes;
      // Each racer from its own address, as a distributed attacker would.
      const racers = Array.from({ length: n }, () => client(srv.baseUrl));
      const results: Res[] = await Promise.all(
        racers.map((r) =>
          r.post('/api/auth/login', { email: a.email, password: PASSWORD, recoveryCode: code }),
        ),
      );
      // Losers are refused either by the atomic code consumption (401) or, earlier, by the one-login-in-flight
      // per account rule (429); exactly one wins either way.
      expect(
        results.filter((r) => r.status === 200),
        `round ${round}`,
      ).toHaveLength(1);
      for (const r of results.filter((x) => x.status !== 200)) expect([401, 429]).toContain(r.status);
      const { rows } = await srv.rampart.services.db.owner((q) =>
        q.query<{ used: string }>(
          'SELECT count(*)::text AS used FROM recovery_codes WHERE user_id = $1 AND used_at IS NOT NULL',
          [a.userId],
        ),
      );
      expect(rows[0]?.used).toBe('1');
    }
  }

  it('the recovery-code consumption itself is atomic: 8 concurrent consumers of one code, one wins', async () => {
    const a = await signupAccount(c, 'atomic');
    const [code = ''] = (await enable(a)).recoveryCodes;
    const wins = await Promise.all(
      Array.from({ length: 8 }, () => consumeRecoveryCode(srv.rampart.services, a.userId, code)),
    );
    expect(wins.filter(Boolean)).toHaveLength(1);
  });

  it('two concurrent uses of one recovery code: exactly one wins (3 rounds)', () => race(2, 3));
  it('five concurrent uses of one recovery code: exactly one wins (3 rounds)', () => race(5, 3));

  it('a stolen session cannot enrol TOTP (and lock the owner out) without the current password', async () => {
    const a = await signupAccount(c, 'stolen');
    const none = await c.post('/api/auth/totp/enroll', undefined, a.token);
    expect(none.status).toBe(400);
    const wrong = await c.post('/api/auth/totp/enroll', { password: 'Not-The-Password-1' }, a.token);
    expect(wrong.status).toBe(401);
    expect(wrong.body.error).toBe('invalid_credentials');
    const { rows } = await srv.rampart.services.db.platform((q) =>
      q.query<{ totp_secret_sealed: string | null }>('SELECT totp_secret_sealed FROM users WHERE id = $1', [
        a.userId,
      ]),
    );
    expect(rows[0]?.totp_secret_sealed).toBeNull();
    // Guessing the password there is throttled like login: the sixth try is refused even when right.
    for (let i = 0; i < 4; i++)
      expect(
        (await c.post('/api/auth/totp/enroll', { password: `Wrong-${i}-password` }, a.token)).status,
      ).toBe(401);
    expect((await c.post('/api/auth/totp/enroll', { password: a.password }, a.token)).status).toBe(429);
    // The owner still signs in with the password alone.
    expect((await login(a)).status).toBe(200);
  });

  it('enrolling again once TOTP is enabled is 409 conflict (the secret cannot be swapped)', async () => {
    const a = await signupAccount(c, 'reenroll');
    const { secret } = await enable(a);
    const r = await c.post('/api/auth/totp/enroll', { password: a.password }, a.token);
    expect(r.status).toBe(409);
    expect(r.body.error).toBe('conflict');
    expect((await login(a, { totp: totpAt(secret, Date.now() + STEP_MS) })).status).toBe(200);
    const confirmAgain = await c.post(
      '/api/auth/totp/confirm',
      { code: totpAt(secret, Date.now()) },
      a.token,
    );
    expect(confirmAgain.status).toBe(409);
  });

  it('two concurrent confirmations: one wins, and the recovery codes it returned are the ones that work', async () => {
    const a = await signupAccount(c, 'confirmrace');
    const enroll = await c.post<{ secret: string }>(
      '/api/auth/totp/enroll',
      { password: a.password },
      a.token,
    );
    const { secret } = enroll.body;
    // Two different valid codes (this step and the next), so both pass the code check and race the flip.
    const results = await Promise.all(
      [0, STEP_MS].map((d) =>
        c.post<{ recoveryCodes: string[] }>(
          '/api/auth/totp/confirm',
          { code: totpAt(secret, Date.now() + d) },
          a.token,
        ),
      ),
    );
    const [r1, r2] = results as [(typeof results)[number], (typeof results)[number]];
    const statuses = [r1.status, r2.status].sort();
    expect(statuses[0]).toBe(200);
    expect(statuses[1]).toBeGreaterThanOrEqual(400);
    const winner = r1.status === 200 ? r1 : r2;
    const code = winner.body.recoveryCodes[0] as string;
    expect((await login(a, { recoveryCode: code })).status).toBe(200);
  });

  it('the TOTP secret is sealed at rest and recovery codes are stored bcrypt-hashed', async () => {
    const a = await signupAccount(c, 'sealed');
    const { secret, recoveryCodes } = await enable(a);
    const { rows } = await srv.rampart.services.db.owner((q) =>
      q.query<{ totp_secret_sealed: string }>('SELECT totp_secret_sealed FROM users WHERE id = $1', [
        a.userId,
      ]),
    );
    const sealed = rows[0]?.totp_secret_sealed ?? '';
    expect(sealed.startsWith('v1.')).toBe(true);
    expect(sealed).not.toContain(secret);
    const codes = await srv.rampart.services.db.owner((q) =>
      q.query<{ code_hash: string }>('SELECT code_hash FROM recovery_codes WHERE user_id = $1', [a.userId]),
    );
    expect(codes.rows).toHaveLength(10);
    const dump = JSON.stringify(codes.rows);
    for (const h of codes.rows) expect(h.code_hash).toMatch(/^\$2b\$/);
    for (const code of recoveryCodes) {
      expect(dump).not.toContain(code);
      expect(dump).not.toContain(code.replaceAll('-', '').toUpperCase());
    }
  });
});
