/**
 * Limits on the expensive unauthenticated routes (review finding): bcrypt-heavy sign-up, mail-sending
 * forgot-password, and change-password guessing with a stolen session.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers.js';

const json = { 'content-type': 'application/json' };

describe('abuse limits', () => {
  let srv: TestServer & { mailer: { sent: Array<{ to: string }> } };
  beforeAll(async () => {
    srv = (await startTestServer('pglite', {
      RAMPART_SIGNUP_PER_IP_PER_HOUR: '3',
      RAMPART_FORGOT_PER_IP_PER_HOUR: '5',
    })) as typeof srv;
  });
  afterAll(() => srv.close());
  const post = (path: string, body: unknown, token?: string) =>
    fetch(`${srv.baseUrl}${path}`, {
      method: 'POST',
      headers: { ...json, ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });

  it('sign-ups per IP are limited before any bcrypt work (429 + Retry-After)', async () => {
    const statuses = [];
    for (let i = 0; i < 4; i++) {
      const r = await post('/api/auth/signup', {
        email: `lim${i}@example.com`,
        password: 'limit password 99',
        orgName: 'L',
      });
      statuses.push(r.status);
      if (r.status === 429) expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
    }
    expect(statuses).toEqual([201, 201, 201, 429]);
  });

  it('reset mails per address are capped at 3 an hour, silently: the answer stays 202', async () => {
    for (let i = 0; i < 5; i++)
      expect((await post('/api/auth/forgot-password', { email: 'lim0@example.com' })).status).toBe(202);
    await new Promise((r) => setTimeout(r, 300));
    expect(
      srv.mailer.sent.filter(
        (m) =>
          m.to === 'lim0@example.com' && String((m as { text?: string }).text).includes('/reset-password#'),
      ),
    ).toHaveLength(3);
    // The per-IP limit then answers 429 for anyone, known or not.
    expect((await post('/api/auth/forgot-password', { email: 'nobody@example.com' })).status).toBe(429);
  });

  it('change-password guesses with a stolen session back off like logins', async () => {
    const login = await post('/api/auth/login', { email: 'lim1@example.com', password: 'limit password 99' });
    const { token } = (await login.json()) as { token: string };
    const statuses = [];
    for (let i = 0; i < 6; i++) {
      const r = await post(
        '/api/auth/change-password',
        { currentPassword: `guess number ${i}`, newPassword: 'another password 77' },
        token,
      );
      statuses.push(r.status);
    }
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(statuses[5]).toBe(429);
  });
});
