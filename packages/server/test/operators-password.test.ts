import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOperator } from '../src/tenancy/operators.js';
import { startTestServer, type TestServer } from './helpers.js';

const json = { 'content-type': 'application/json' };

describe('change password and operator creation', () => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startTestServer('pglite');
  });
  afterAll(() => srv.close());

  const post = (path: string, body: unknown, token?: string) =>
    fetch(`${srv.baseUrl}${path}`, {
      method: 'POST',
      headers: { ...json, ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });

  it('needs the current password, logs out other sessions, and returns a fresh session', async () => {
    const email = 'changer@example.com';
    const r = await post('/api/auth/signup', { email, password: 'first password 123', orgName: 'Changer' });
    const { token: first } = (await r.json()) as { token: string };
    const other = (
      (await (await post('/api/auth/login', { email, password: 'first password 123' })).json()) as {
        token: string;
      }
    ).token;

    const wrong = await post(
      '/api/auth/change-password',
      { currentPassword: 'not it at all', newPassword: 'second password 456' },
      first,
    );
    expect(wrong.status).toBe(401);
    expect(((await wrong.json()) as { error: string }).error).toBe('invalid_credentials');

    const weak = await post(
      '/api/auth/change-password',
      { currentPassword: 'first password 123', newPassword: 'password' },
      first,
    );
    expect(weak.status).toBe(400);

    const ok = await post(
      '/api/auth/change-password',
      { currentPassword: 'first password 123', newPassword: 'second password 456' },
      first,
    );
    expect(ok.status).toBe(200);
    const { token: fresh } = (await ok.json()) as { token: string };
    const me = (t: string) =>
      fetch(`${srv.baseUrl}/api/me`, { headers: { authorization: `Bearer ${t}` } }).then((x) => x.status);
    expect(await me(fresh)).toBe(200);
    expect(await me(first)).toBe(401);
    expect(await me(other)).toBe(401);
    expect((await post('/api/auth/login', { email, password: 'first password 123' })).status).toBe(401);
    expect((await post('/api/auth/login', { email, password: 'second password 456' })).status).toBe(200);
  });

  it('createOperator makes a new operator with a one-time password, or promotes an existing user', async () => {
    const db = srv.rampart.services.db;
    const created = await createOperator(db, 'Ops@Example.com', 4);
    expect(created.created).toBe(true);
    expect(created.initialPassword).toMatch(/^[A-Za-z0-9_-]{24}$/);
    const login = await post('/api/auth/login', {
      email: 'ops@example.com',
      password: created.initialPassword,
    });
    expect(login.status).toBe(200);
    const { token } = (await login.json()) as { token: string };
    // Without a TOTP-verified session the admin routes stay closed.
    const admin = await fetch(`${srv.baseUrl}/api/admin/orgs`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(admin.status).toBe(403);

    const again = await createOperator(db, 'ops@example.com', 4);
    expect(again).toEqual({ userId: created.userId, created: false });
    const { rows } = await db.owner((q) =>
      q.query<{ password_hash: string }>('SELECT password_hash FROM users WHERE id = $1', [created.userId]),
    );
    expect(rows[0]?.password_hash).not.toContain(created.initialPassword as string);
    await expect(createOperator(db, 'not-an-email', 4)).rejects.toThrow(/--email/);
  });
});
