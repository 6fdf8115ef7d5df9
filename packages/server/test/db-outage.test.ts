/**
 * The database going away under load. On PostgreSQL, a helper connection keeps terminating every backend of
 * the server's database (`pg_terminate_backend`, what a PostgreSQL restart or an operator does to sessions)
 * while 12 writers store secrets. Before the fix, a connection cut while a transaction held it emitted an
 * unhandled 'error' event and killed the process (found by `npm run bench -- load`, PostgreSQL restart run).
 * Now: the server stays up, every refused write is `503 service_unavailable` with Retry-After (never a 500),
 * and every acknowledged write is there afterwards.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { type Account, api, signup } from '@rampart/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isDatabaseUnavailable } from '../src/db/unavailable.js';
import { startTestServer } from './helpers.js';

describe('isDatabaseUnavailable', () => {
  const pgError = (code: string, message = 'x') => Object.assign(new Error(message), { code });
  it.each([
    ['57P01 admin shutdown', pgError('57P01', 'terminating connection due to administrator command')],
    ['57P03 cannot connect now', pgError('57P03', 'the database system is starting up')],
    ['08006 connection failure', pgError('08006')],
    ['53100 disk full', pgError('53100', 'could not extend file')],
    ['53300 too many connections', pgError('53300')],
    ['ECONNREFUSED', pgError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432')],
    ['a cause chain', new Error('wrapped', { cause: pgError('ECONNRESET') })],
    ['pg: connection terminated', new Error('Connection terminated unexpectedly')],
    ['pg: pool timeout', new Error('timeout exceeded when trying to connect')],
    ['ENOSPC text', new Error('could not write to file: No space left on device')],
  ])('%s is the database being unavailable', (_, err) => {
    expect(isDatabaseUnavailable(err)).toBe(true);
  });
  it.each([
    ['23505 unique violation', pgError('23505')],
    ['42P01 undefined table (a bug)', pgError('42P01')],
    ['42501 RLS refusal', pgError('42501')],
    ['a TypeError', new TypeError('x is undefined')],
    ['not an error', 'ECONNREFUSED'],
    ['null', null],
  ])('%s is not', (_, err) => {
    expect(isDatabaseUnavailable(err)).toBe(false);
  });
});

describe.skipIf(!process.env.TEST_DATABASE_URL)('PostgreSQL connections cut under write load', () => {
  let srv: Awaited<ReturnType<typeof startTestServer>>;
  let owner: Account;
  beforeAll(async () => {
    srv = await startTestServer('postgres');
    owner = await signup(srv.baseUrl);
  });
  afterAll(() => srv?.close());

  it('keeps serving, answers 503 (never 500) while connections die, and loses no acknowledged write', async () => {
    const o = api(srv.baseUrl, owner.token);
    const killer = new pg.Client({ connectionString: srv.url });
    await killer.connect();
    const dbName = (await killer.query<{ d: string }>('SELECT current_database() AS d')).rows[0]?.d;
    let stop = false;
    let terminated = 0;
    const killing = (async () => {
      await sleep(300);
      while (!stop) {
        const r = await killer.query(
          'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
          [dbName],
        );
        terminated += r.rowCount ?? 0;
        await sleep(40);
      }
    })();
    const acked: string[] = [];
    const statuses = new Map<number, number>();
    const bad: string[] = [];
    let n = 0;
    const writer = async () => {
      while (!stop) {
        const name = `outage_${n++}`;
        const r = await o.put(`/api/orgs/${owner.orgId}/secrets/${name}`, { value: `v-${name}` });
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        if (r.status === 200) acked.push(name);
        else if (r.status !== 503 || (r.body as { error?: string }).error !== 'service_unavailable')
          bad.push(`${r.status} ${r.text.slice(0, 200)}`);
        else expect(r.headers.get('retry-after')).toBe('2');
      }
    };
    const writers = Array.from({ length: 12 }, writer);
    await sleep(2500);
    stop = true;
    await Promise.all([killing, ...writers]);
    await killer.end();

    expect(terminated).toBeGreaterThan(10);
    expect(bad).toEqual([]);
    expect(statuses.get(503) ?? 0).toBeGreaterThan(0); // the fault did hit requests
    expect(acked.length).toBeGreaterThan(0);
    // Still up, and every acknowledged write is there (a few 503s may have committed too: lost answers).
    await expect.poll(async () => (await api(srv.baseUrl).get('/healthz')).status).toBe(200);
    await expect.poll(async () => (await o.get(`/api/orgs/${owner.orgId}/secrets`)).status).toBe(200);
    const r = await o.get<{ secrets: Array<{ name: string }> }>(`/api/orgs/${owner.orgId}/secrets`);
    const present = new Set(r.body.secrets.map((s) => s.name));
    expect(acked.filter((name) => !present.has(name))).toEqual([]);
    expect(srv.logs.join('\n')).not.toMatch(/"level":50.*unhandled error/);
  });
});
