/**
 * Login throttling (issue 5: per account and per IP, exponential back-off, 429 rate_limited + Retry-After),
 * run with the in-memory limiter and with Redis (REDIS_URL; skipped when unset). Emails and source IPs are
 * unique per run, so Redis counters (keyed by sha256(email) and by IP) never collide across runs. Throttling
 * does not depend on the database engine, so PGlite only.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { client, PASSWORD, type ApiResponse as Res, signupAccount, uniqueEmail } from '@rampart/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer } from './helpers.js';

type Server = Awaited<ReturnType<typeof startTestServer>>;
const REDIS_URL = process.env.REDIS_URL;
const WRONG = 'Wrong-Password-000';

const withoutRequestId = (body: Record<string, unknown>) => {
  const { requestId: _, ...rest } = body;
  return rest;
};

function expectRateLimited(r: Res, minSeconds = 1) {
  expect(r.status).toBe(429);
  expect(r.body.error).toBe('rate_limited');
  const retryAfter = Number(r.headers.get('retry-after'));
  expect(Number.isInteger(retryAfter)).toBe(true);
  expect(retryAfter).toBeGreaterThanOrEqual(minSeconds);
  return retryAfter;
}

function throttleSuite(limiter: string, env: Record<string, string>) {
  describe(`login throttling (${limiter} limiter)`, () => {
    let srv: Server;
    beforeAll(async () => {
      srv = await startTestServer('pglite', { RAMPART_TRUST_PROXY: '127.0.0.1', ...env });
    });
    afterAll(() => srv?.close());

    const attempt = (c: ReturnType<typeof client>, email: string, password: string) =>
      c.post('/api/auth/login', { email, password });

    it('password guessing one account: after 5 failures the 6th attempt, even with the right password, is 429', async () => {
      const c = client(srv.baseUrl);
      const a = await signupAccount(c, 'guess');
      for (let i = 0; i < 5; i++) expect((await attempt(c, a.email, WRONG)).status).toBe(401);
      const locked = await attempt(c, a.email, PASSWORD);
      expect(expectRateLimited(locked)).toBe(1);
      expect(JSON.stringify(locked.body)).not.toContain(a.email);
      // The lock is per account, whichever address asks.
      expectRateLimited(await attempt(client(srv.baseUrl), a.email, PASSWORD));
      // Back-off is exponential: once the 1 s lock lifts, the next failure locks for 2 s.
      await sleep(1_100);
      expect((await attempt(c, a.email, WRONG)).status).toBe(401);
      expect(expectRateLimited(await attempt(c, a.email, PASSWORD))).toBe(2);
    });

    it('parallel guesses cannot outrun the lock-out: 30 at once, at most 5 are checked, then the account is locked', async () => {
      const a = await signupAccount(client(srv.baseUrl), 'parallel');
      const results = await Promise.all(
        Array.from({ length: 30 }, () =>
          client(srv.baseUrl).post('/api/auth/login', { email: a.email, password: 'wrong password!!' }),
        ),
      );
      const checked = results.filter((r) => r.status === 401).length;
      expect(checked).toBeGreaterThanOrEqual(1);
      expect(checked).toBeLessThanOrEqual(5);
      expect(results.filter((r) => r.status === 429).length).toBe(30 - checked);
      // Sequential guesses continue until the fifth failure; then even the right password is refused.
      for (let i = checked; i < 5; i++)
        await client(srv.baseUrl).post('/api/auth/login', { email: a.email, password: 'wrong password!!' });
      const right = await client(srv.baseUrl).post('/api/auth/login', { email: a.email, password: PASSWORD });
      expect(right.status).toBe(429);
    });

    it('a stolen session guessing the password through change-password in parallel: 25 at once, at most 5 are evaluated', async () => {
      const a = await signupAccount(client(srv.baseUrl), 'changeguess');
      const results = await Promise.all(
        Array.from({ length: 25 }, () =>
          client(srv.baseUrl).post(
            '/api/auth/change-password',
            { currentPassword: 'wrong password!!', newPassword: 'Another-Strong-Pass-77' },
            a.token,
          ),
        ),
      );
      const evaluated = results.filter((r) => r.status === 401).length;
      expect(evaluated).toBeGreaterThanOrEqual(1);
      expect(evaluated).toBeLessThanOrEqual(5);
      expect(results.filter((r) => r.status === 429).length).toBe(25 - evaluated);
      // Then the back-off holds: after the fifth failure even the right password is refused for now.
      for (let i = evaluated; i < 5; i++)
        await client(srv.baseUrl).post(
          '/api/auth/change-password',
          { currentPassword: 'wrong password!!', newPassword: 'Another-Strong-Pass-77' },
          a.token,
        );
      const right = await client(srv.baseUrl).post(
        '/api/auth/change-password',
        { currentPassword: PASSWORD, newPassword: 'Another-Strong-Pass-77' },
        a.token,
      );
      expectRateLimited(right);
    });

    it('unknown emails are throttled exactly like real ones (no enumeration through 429s)', async () => {
      const c = client(srv.baseUrl);
      const a = await signupAccount(c, 'known');
      const ghost = uniqueEmail('ghost');
      for (let i = 0; i < 5; i++) {
        const k = await attempt(c, a.email, WRONG);
        const u = await attempt(c, ghost, WRONG);
        expect(u.status).toBe(k.status);
        expect(withoutRequestId(u.body)).toEqual(withoutRequestId(k.body));
      }
      const k = await attempt(c, a.email, WRONG);
      const u = await attempt(c, ghost, WRONG);
      expect(expectRateLimited(u)).toBe(expectRateLimited(k));
      expect(withoutRequestId(u.body)).toEqual(withoutRequestId(k.body));
    });

    it('a successful login resets the account counter', async () => {
      const c = client(srv.baseUrl);
      const a = await signupAccount(c, 'reset');
      for (let i = 0; i < 4; i++) expect((await attempt(c, a.email, WRONG)).status).toBe(401);
      expect((await attempt(c, a.email, PASSWORD)).status).toBe(200);
      for (let i = 0; i < 4; i++) expect((await attempt(c, a.email, WRONG)).status).toBe(401);
      expect((await attempt(c, a.email, PASSWORD)).status).toBe(200); // 8 failures in all, but never 5 in a row
    });

    it('password spraying from one IP: 20 failures across different accounts lock that IP', async () => {
      const sprayer = client(srv.baseUrl);
      const a = await signupAccount(client(srv.baseUrl), 'sprayed');
      for (let i = 0; i < 20; i++) {
        const r = await attempt(sprayer, uniqueEmail(`spray${i}`), WRONG);
        expect(r.status, `attempt ${i + 1}`).toBe(401);
      }
      // Even a real account with its right password, from that IP.
      expectRateLimited(await attempt(sprayer, a.email, PASSWORD));
      // The account itself is not locked: its owner elsewhere signs in.
      expect((await attempt(client(srv.baseUrl), a.email, PASSWORD)).status).toBe(200);
    });
  });
}

throttleSuite('memory', {});
if (REDIS_URL) throttleSuite('redis', { REDIS_URL });
else describe.skip('login throttling (redis limiter): REDIS_URL is not set', () => it('skipped', () => {}));
