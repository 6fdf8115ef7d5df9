/**
 * Cloud-mode database access end to end on real PostgreSQL: a connection string sealed on the client with the
 * API key, stored as ciphertext only, opened per query with the key the request presents, run in the sandbox,
 * audited without rows. The zero-knowledge property: with every database file and the server's master keys,
 * the connection string is nowhere to be found (not in rows, logs or audit), and other keys cannot open it.
 */
import { openConnection, sealConnection } from '@rampart/core/connseal';
import { type Account, api, signup, TEST_JWT_SECRET, TEST_MASTER_KEY } from '@rampart/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReaderDatabase, type ReaderDatabase, startSilentPostgres } from './dbaccess-support.js';
import { startTestServer } from './helpers.js';
import { dumpTables } from './leak-support.js';

const BASE = process.env.TEST_DATABASE_URL;
type Srv = Awaited<ReturnType<typeof startTestServer>>;
type Err = { error: string; message: string };

describe.skipIf(!BASE)('cloud database connections (postgres)', () => {
  let customer: ReaderDatabase;
  let srv: Srv;
  let owner: Account;
  let apiKey: string;
  let otherKey: string;
  let connectionId: string;
  const o = () => `/api/orgs/${owner.orgId}`;

  beforeAll(async () => {
    customer = await createReaderDatabase(BASE as string);
    srv = await startTestServer('postgres', { RAMPART_OUTBOUND_ALLOW: '127.0.0.1', LOG_LEVEL: 'trace' });
    owner = await signup(srv.baseUrl);
    const a = api(srv.baseUrl, owner.token);
    apiKey = (await a.post<{ key: string }>(`${o()}/api-keys`, { name: 'analyst' })).body.key;
    otherKey = (await a.post<{ key: string }>(`${o()}/api-keys`, { name: 'other' })).body.key;
    // The client side: `rampart seal-connection` / the dashboard do exactly this.
    const sealed = await sealConnection(apiKey, customer.readerUrl);
    const created = await a.post<{ id: string }>(`${o()}/connections`, {
      name: 'warehouse',
      mode: 'cloud',
      sealed,
    });
    expect(created.status, created.text).toBe(201);
    connectionId = created.body.id;
  });
  afterAll(async () => {
    await srv?.close();
    await customer?.close();
  });

  const query = (key: string, sql: string, params: unknown[] = [], headers: Record<string, string> = {}) =>
    api(srv.baseUrl, key).request<{ columns: string[]; rows: unknown[][]; rowCount: number } & Err>(
      'POST',
      `${o()}/connections/${connectionId}/query`,
      { sql, params },
      headers,
    );

  it('runs a sandboxed SELECT with the sealing API key', async () => {
    const r = await query(apiKey, 'SELECT id, email FROM customers WHERE spend >= $1 ORDER BY id', [490], {
      'x-ai-model': 'gpt-test',
    });
    expect(r.status, r.text).toBe(200);
    expect(r.body).toMatchObject({
      columns: ['id', 'email'],
      rows: [
        [49, 'c49@example.com'],
        [50, 'c50@example.com'],
      ],
      rowCount: 2,
    });
  });

  it('refuses writes and escapes with 400 query_not_allowed and a reason', async () => {
    for (const sql of [
      'DELETE FROM customers',
      'SELECT 1; COMMIT',
      "SELECT * FROM pg_read_file('/etc/passwd')",
    ]) {
      const r = await query(apiKey, sql);
      expect(r.status, sql).toBe(400);
      expect(r.body.error).toBe('query_not_allowed');
      expect(r.body.message.length).toBeGreaterThan(20);
    }
    const n = await customer.admin.query<{ n: number }>('SELECT count(*)::int AS n FROM customers');
    expect(n.rows[0]?.n).toBe(50);
  });

  it('attribute notation (x.pg_sleep, ($1::text).current_setting, x.setseed) is refused over the route', async () => {
    for (const [sql, params] of [
      ['SELECT x.pg_sleep FROM generate_series(10,10) x', []],
      ['SELECT ($1::text).current_setting', ['server_version']],
      // Not known to the guard: refused by the catalog check against the customer's database.
      ['SELECT x.setseed FROM generate_series(1,1) x', []],
    ] as Array<[string, unknown[]]>) {
      const r = await query(apiKey, sql, params);
      expect(r.status, sql).toBe(400);
      expect(r.body.error).toBe('query_not_allowed');
      expect(r.body.message).toMatch(/function (pg_sleep|current_setting|setseed)/);
    }
  });

  it('another API key of the same org cannot open it (403); a session is not a key (401); another org gets 404', async () => {
    const other = await query(otherKey, 'SELECT 1');
    expect(other.status).toBe(403);
    expect(other.body.error).toBe('forbidden');
    const session = await query(owner.token, 'SELECT 1');
    expect(session.status).toBe(401);
    const stranger = await signup(srv.baseUrl);
    const strangerKey = (
      await api(srv.baseUrl, stranger.token).post<{ key: string }>(`/api/orgs/${stranger.orgId}/api-keys`, {
        name: 'x',
      })
    ).body.key;
    expect((await query(strangerKey, 'SELECT 1')).status).toBe(404);
  });

  it('zero knowledge: the connection string and its password are in no row, log line or audit entry, and the master keys alone cannot open it', async () => {
    const password = new URL(customer.readerUrl).password;
    const dump = await dumpTables(srv.rampart.services.db);
    for (const needle of [customer.readerUrl, password]) {
      expect(dump.text.includes(needle)).toBe(false);
      expect(srv.logs.join('').includes(needle)).toBe(false);
    }
    const audit = await api(srv.baseUrl, owner.token).get(`${o()}/audit?limit=500`);
    expect(audit.text.includes(password)).toBe(false);
    // What the server holds: the envelope, and the API key only as a hash. Neither the hash, nor the master
    // key ring, nor the JWT secret opens it.
    const { rows } = await srv.rampart.services.db.org(owner.orgId, (q) =>
      q.query<{ envelope: Parameters<typeof openConnection>[1] }>(
        'SELECT envelope FROM db_connections WHERE id = $1',
        [connectionId],
      ),
    );
    const envelope = rows[0]?.envelope;
    if (!envelope) throw new Error('no envelope');
    const { rows: keys } = await srv.rampart.services.db.org(owner.orgId, (q) =>
      q.query<{ key_hash: string }>('SELECT key_hash FROM api_keys WHERE org_id = $1', [owner.orgId]),
    );
    const serverMaterial = [
      ...keys.map((k) => k.key_hash),
      TEST_MASTER_KEY.toString('base64'), // RAMPART_MASTER_KEYS in tests
      TEST_JWT_SECRET.toString('base64'), // RAMPART_JWT_SECRET in tests
    ];
    for (const guess of serverMaterial) await expect(openConnection(guess, envelope)).rejects.toThrow();
    expect(await openConnection(apiKey, envelope)).toBe(customer.readerUrl);
  });

  it('audits every query without rows: model, tool, row count, query hash, duration, outcome; csv and ndjson export', async () => {
    const a = api(srv.baseUrl, owner.token);
    const json = await a.get<{ entries: Array<Record<string, unknown>> }>(`${o()}/query-audit`);
    expect(json.status).toBe(200);
    const ok = json.body.entries.find((e) => e.outcome === 'ok' && e.declaredModel === 'gpt-test');
    expect(ok).toMatchObject({ tool: 'run_select', rowCount: 2, connectionId });
    expect(String(ok?.queryHash)).toMatch(/^[0-9a-f]{64}$/);
    expect(json.body.entries.some((e) => e.outcome === 'query_not_allowed')).toBe(true);
    expect(json.body.entries.some((e) => e.outcome === 'forbidden')).toBe(true);
    for (const format of ['csv', 'ndjson']) {
      const r = await a.get(`${o()}/query-audit?format=${format}`);
      expect(r.status).toBe(200);
      expect(r.text).toContain('run_select');
      expect(r.text).not.toContain('c49@example.com');
    }
    expect(json.text).not.toContain('c49@example.com');
    const verify = await a.get<{ ok: boolean }>(`${o()}/audit/verify`);
    expect(verify.body.ok).toBe(true);
  });

  it('a customer database on a non-allowed address is refused before connecting', async () => {
    const strict = await startTestServer('postgres');
    try {
      const acc = await signup(strict.baseUrl);
      const a = api(strict.baseUrl, acc.token);
      const key = (await a.post<{ key: string }>(`/api/orgs/${acc.orgId}/api-keys`, { name: 'k' })).body.key;
      const created = await a.post<{ id: string }>(`/api/orgs/${acc.orgId}/connections`, {
        name: 'internal',
        mode: 'cloud',
        sealed: await sealConnection(key, customer.readerUrl),
      });
      const r = await api(strict.baseUrl, key).post<Err>(
        `/api/orgs/${acc.orgId}/connections/${created.body.id}/query`,
        {
          sql: 'SELECT 1',
        },
      );
      expect(r.status).toBe(403);
      expect(r.body.message).toMatch(/not an allowed destination/);
    } finally {
      await strict.close();
    }
  });
  it.each([
    ['accepts the login, then never answers a query', true],
    ['never answers the login', false],
  ])(
    'a database that %s: 504 upstream_timeout within the client timeout, and a db.query audit row',
    async (_what, answerStartup) => {
      const silent = await startSilentPostgres(answerStartup);
      const quick = await startTestServer('postgres', {
        RAMPART_OUTBOUND_ALLOW: '127.0.0.1',
        RAMPART_DB_QUERY_TIMEOUT_MS: '200',
        RAMPART_DB_CONNECT_TIMEOUT_MS: '300',
      });
      try {
        const acc = await signup(quick.baseUrl);
        const a = api(quick.baseUrl, acc.token);
        const key = (await a.post<{ key: string }>(`/api/orgs/${acc.orgId}/api-keys`, { name: 'k' })).body
          .key;
        const created = await a.post<{ id: string }>(`/api/orgs/${acc.orgId}/connections`, {
          name: 'silent',
          mode: 'cloud',
          sealed: await sealConnection(key, `postgres://u:p@127.0.0.1:${silent.port}/db`),
        });
        const started = performance.now();
        const r = await api(quick.baseUrl, key).post<Err>(
          `/api/orgs/${acc.orgId}/connections/${created.body.id}/query`,
          { sql: 'SELECT 1' },
        );
        const ms = performance.now() - started;
        expect(r.status, r.text).toBe(504);
        expect(r.body.error).toBe('upstream_timeout');
        expect(ms).toBeLessThan(5_000);
        const audit = await a.get<{ entries: Array<Record<string, unknown>> }>(
          `/api/orgs/${acc.orgId}/query-audit`,
        );
        expect(audit.body.entries).toEqual([
          expect.objectContaining({
            connectionId: created.body.id,
            outcome: 'upstream_timeout',
            rowCount: 0,
          }),
        ]);
      } finally {
        await quick.close();
        await silent.close();
      }
    },
  );
});
