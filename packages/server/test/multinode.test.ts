/**
 * Scale-out: several Rampart nodes on one PostgreSQL and one Redis (docs/OPERATIONS.md, "Running several
 * nodes"). Migrations when nodes start together, sign-up limits shared through Redis, API-key and runtime-token
 * revocation reaching another node over the node bus at once (well inside CREDENTIAL_CACHE_TTL_MS), and membership changes taking effect on the
 * next request on another node. The job runner's exactly-once across two nodes is in jobs-runner.test.ts ("two
 * runner nodes on one PostgreSQL"); the widget limit shared by two nodes is in widget-limits.test.ts.
 *
 * Source IPs come from X-Forwarded-For (the nodes trust 127.0.0.1 as their proxy) and are random per run, so
 * this file's Redis counters never meet another test's (or another run's); afterAll deletes exactly those keys.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Account, api, lastResetToken, PASSWORD, uniqueEmail } from '@rampart/testing';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMigrations } from '../src/db/migrate.js';
import { CREDENTIAL_CACHE_TTL_MS } from '../src/identity/authenticate.js';
import { ipLimitKey } from '../src/platform/ratelimit.js';
import { startTestServer } from './helpers.js';

const DB = process.env.TEST_DATABASE_URL;
const REDIS_URL = process.env.REDIS_URL;

type Srv = Awaited<ReturnType<typeof startTestServer>>;

/** A documentation-range IPv6 address (2001:db8::/32, eight groups, no leading zeros), random per call. */
const usedIps: string[] = [];
function freshIp(): string {
  const groups = Array.from({ length: 6 }, () => randomBytes(2).readUInt16BE(0).toString(16));
  const ip = `2001:db8:${groups.join(':')}`;
  usedIps.push(ip, ipLimitKey(ip)); // limits count IPv6 under its /64
  return ip;
}

const fromIp = (ip: string) => ({ 'x-forwarded-for': ip });

async function signupFrom(baseUrl: string, ip: string, email = uniqueEmail('multinode')) {
  return api(baseUrl).request<{ userId: string; orgId: string; token: string }>(
    'POST',
    '/api/auth/signup',
    { email, password: PASSWORD, orgName: `Org ${randomBytes(3).toString('hex')}` },
    fromIp(ip),
  );
}

async function ownerOn(baseUrl: string): Promise<Account> {
  const email = uniqueEmail('owner');
  const r = await signupFrom(baseUrl, freshIp(), email);
  if (r.status !== 201) throw new Error(`signup failed: ${r.status} ${r.text}`);
  return { ...r.body, email, password: PASSWORD };
}

describe.skipIf(!DB || !REDIS_URL)('several nodes on one PostgreSQL and one Redis', () => {
  describe('migrations when nodes start together', () => {
    let dbName: string;
    let url: string;
    const nodes: Srv[] = [];

    beforeAll(async () => {
      dbName = `rampart_t_${randomBytes(6).toString('hex')}`;
      const admin = new pg.Client({ connectionString: DB });
      await admin.connect();
      await admin.query(`CREATE DATABASE ${dbName}`);
      await admin.end();
      const u = new URL(DB as string);
      u.pathname = `/${dbName}`;
      url = u.toString();
    });
    afterAll(async () => {
      await Promise.all(nodes.map((n) => n.close()));
      const admin = new pg.Client({ connectionString: DB });
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
      await admin.end();
    });

    it('three nodes starting at once on a fresh database apply each migration exactly once', async () => {
      const started = await Promise.allSettled(
        [0, 1, 2].map(() => startTestServer('postgres', { DATABASE_URL: url })),
      );
      for (const s of started) if (s.status === 'fulfilled') nodes.push(s.value);
      expect(started.map((s) => (s.status === 'rejected' ? String(s.reason) : 'up'))).toEqual([
        'up',
        'up',
        'up',
      ]);

      for (const n of nodes) {
        const h = await api(n.baseUrl).get('/healthz');
        expect(h.status).toBe(200);
        expect(h.body).toEqual({ ok: true });
      }

      const expected = loadMigrations();
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      try {
        const { rows } = await c.query<{ version: number; name: string; n: number }>(
          `SELECT version, min(name) AS name, count(*)::int AS n
             FROM schema_migrations GROUP BY version ORDER BY version`,
        );
        expect(rows.map((r) => [r.version, r.name, r.n])).toEqual(
          expected.map((m) => [m.version, m.name, 1]),
        );
        // One transaction applied them all (now() is the transaction's start time).
        const { rows: at } = await c.query<{ n: number }>(
          'SELECT count(DISTINCT applied_at)::int AS n FROM schema_migrations',
        );
        expect(at[0]?.n).toBe(1);
      } finally {
        await c.end();
      }

      // Exactly one node applied them; the others waited on the advisory lock and found nothing to do.
      const appliers = nodes.filter((n) => n.logs.some((l) => l.includes('database migrations applied')));
      expect(appliers).toHaveLength(1);

      // And the nodes serve one database: an account made on one signs in on another.
      const [a, b, c3] = nodes as [Srv, Srv, Srv];
      const owner = await ownerOn(a.baseUrl);
      for (const n of [b, c3]) {
        const login = await api(n.baseUrl).request<{ token: string }>(
          'POST',
          '/api/auth/login',
          { email: owner.email, password: PASSWORD },
          fromIp(freshIp()),
        );
        expect(login.status, login.text).toBe(200);
      }
    });
  });

  describe('two nodes sharing PostgreSQL and Redis', () => {
    let nodeA: Srv;
    let nodeB: Srv;
    let redis: Redis;

    beforeAll(async () => {
      const env = {
        REDIS_URL: REDIS_URL as string,
        RAMPART_TRUST_PROXY: '127.0.0.1',
        RAMPART_SIGNUP_PER_IP_PER_HOUR: '3',
      };
      nodeA = await startTestServer('postgres', env);
      nodeB = await startTestServer('postgres', { ...env, DATABASE_URL: nodeA.url as string });
      redis = new Redis(REDIS_URL as string);
    });
    afterAll(async () => {
      await nodeB?.close();
      await nodeA?.close();
      if (redis) {
        // Only this file's counters: every key naming one of the random addresses used above.
        for (const ip of usedIps) {
          const keys: string[] = [];
          let cursor = '0';
          do {
            const [next, batch] = await redis.scan(cursor, 'MATCH', `rampart:*${ip}*`, 'COUNT', 1000);
            cursor = next;
            keys.push(...batch);
          } while (cursor !== '0');
          if (keys.length) await redis.del(...keys);
        }
        redis.disconnect();
      }
    });

    it('sign-ups alternating between nodes are limited by the total, not per node', async () => {
      const ip = freshIp();
      const codes: number[] = [];
      for (let i = 0; i < 6; i++) {
        const r = await signupFrom(i % 2 ? nodeB.baseUrl : nodeA.baseUrl, ip);
        codes.push(r.status);
        if (r.status === 429) {
          expect(r.body).toMatchObject({ error: 'rate_limited' });
          expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
        }
      }
      expect(codes).toEqual([201, 201, 201, 429, 429, 429]);
      // The counter lives in Redis (that is what both nodes read), not in either process.
      expect(await redis.exists(`rampart:signup:ip:${ipLimitKey(ip)}`)).toBe(1);
      // Another address is not affected.
      expect((await signupFrom(nodeB.baseUrl, freshIp())).status).toBe(201);
    });

    it(`a revoked API key and runtime token are refused by the other node at once (bus), not after the ${CREDENTIAL_CACHE_TTL_MS} ms TTL`, async () => {
      const owner = await ownerOn(nodeA.baseUrl);
      const a = api(nodeA.baseUrl, owner.token);
      const key = await a.post<{ id: string; key: string }>(`/api/orgs/${owner.orgId}/api-keys`, {
        name: 'k',
      });
      const rt = await a.post<{ id: string; token: string }>(`/api/orgs/${owner.orgId}/runtime-tokens`, {
        name: 'r',
      });
      expect(key.status, key.text).toBe(201);
      expect(rt.status, rt.text).toBe(201);

      const creds = [
        {
          what: 'api key',
          path: '/v1/models',
          token: key.body.key,
          revoke: `/api/orgs/${owner.orgId}/api-keys/${key.body.id}`,
        },
        {
          what: 'runtime token',
          path: '/api/runtime/whoami',
          token: rt.body.token,
          revoke: `/api/orgs/${owner.orgId}/runtime-tokens/${rt.body.id}`,
        },
      ];
      // Both nodes accept each credential and now hold it in their caches.
      for (const c of creds) {
        for (const n of [nodeA, nodeB]) expect((await api(n.baseUrl, c.token).get(c.path)).status).toBe(200);
      }

      const measured = await Promise.all(
        creds.map(async (c) => {
          // Refresh B's cache entry right before revoking: the worst case for the bound.
          expect((await api(nodeB.baseUrl, c.token).get(c.path)).status).toBe(200);
          const revokedAt = Date.now();
          expect((await a.del(c.revoke)).status).toBe(200);
          // The revoking node forgets it at once.
          expect((await api(nodeA.baseUrl, c.token).get(c.path)).status).toBe(401);
          let servedAfterRevoke = 0;
          for (;;) {
            const r = await api(nodeB.baseUrl, c.token).get(c.path);
            if (r.status === 401) break;
            expect(r.status).toBe(200);
            servedAfterRevoke++;
            if (Date.now() - revokedAt > CREDENTIAL_CACHE_TTL_MS + 2_000) break;
            await sleep(50);
          }
          return { what: c.what, ms: Date.now() - revokedAt, servedAfterRevoke };
        }),
      );
      for (const [i, m] of measured.entries()) {
        // The node bus carries the revocation: well under the cache TTL, which only bounds a lost message.
        expect(m.ms, `${m.what}: refused on node B after ${m.ms} ms`).toBeLessThan(1_000);
        // Stays refused (nothing brings it back into the cache).
        const c = creds[i] as (typeof creds)[number];
        expect((await api(nodeB.baseUrl, c.token).get(c.path)).status).toBe(401);
      }
      console.info(
        `[multinode] revocation reached node B after ${measured
          .map((m) => `${m.what} ${m.ms} ms (${m.servedAfterRevoke} stale answers)`)
          .join(', ')}; bound ${CREDENTIAL_CACHE_TTL_MS} ms`,
      );
    });

    it("a widget's new allowed origins apply on the other node at once (bus), not after the 5 s lookup cache", async () => {
      const owner = await ownerOn(nodeA.baseUrl);
      const shop = 'https://shop.example.com';
      const w = await api(nodeA.baseUrl, owner.token).post<{ id: string }>(
        `/api/orgs/${owner.orgId}/widgets`,
        {
          name: 'help',
          allowedOrigins: [shop],
          model: 'any-model',
        },
      );
      expect(w.status, w.text).toBe(201);
      const session = (n: Srv) =>
        api(n.baseUrl).request('POST', `/widget/${w.body.id}/session`, undefined, {
          origin: shop,
          'x-forwarded-for': freshIp(),
        });
      // Node B serves the widget, and so holds its lookup in its cache.
      expect((await session(nodeB)).status).toBe(200);
      const changedAt = Date.now();
      const moved = await api(nodeA.baseUrl, owner.token).patch(
        `/api/orgs/${owner.orgId}/widgets/${w.body.id}`,
        {
          allowedOrigins: ['https://elsewhere.example.com'],
        },
      );
      expect(moved.status, moved.text).toBe(200);
      expect((await session(nodeA)).status).toBe(403);
      let ms = 0;
      for (;;) {
        const r = await session(nodeB);
        ms = Date.now() - changedAt;
        if (r.status === 403) break;
        expect(r.status).toBe(200);
        if (ms > 7_000) break;
        await sleep(50);
      }
      expect(ms, `node B refused the old origin after ${ms} ms`).toBeLessThan(1_000);
    });

    it('a role change, removal and logout-all on one node apply on the very next request on the other', async () => {
      const owner = await ownerOn(nodeA.baseUrl);
      const a = api(nodeA.baseUrl, owner.token);
      const email = uniqueEmail('member');
      const added = await a.post(`/api/orgs/${owner.orgId}/members`, { email, role: 'admin' });
      expect(added.status, added.text).toBe(201);
      // The invitation queued on node A (delivered by whichever node's worker claims it) is accepted on node B,
      // which signs the new member in there.
      const accepted = await api(nodeB.baseUrl).request<{ userId: string; token: string }>(
        'POST',
        '/api/auth/invitations/accept',
        { token: await lastResetToken([nodeA.mailer, nodeB.mailer], email), password: PASSWORD },
        fromIp(freshIp()),
      );
      expect(accepted.status, accepted.text).toBe(200);
      const memberId = accepted.body.userId;
      const login = { body: { token: accepted.body.token } };
      const b = api(nodeB.baseUrl, login.body.token);
      const keysPath = `/api/orgs/${owner.orgId}/api-keys`;
      expect((await b.get(keysPath)).status).toBe(200);

      // Demoted to viewer on A: B refuses the admin-level read on the next request.
      expect((await a.patch(`/api/orgs/${owner.orgId}/members/${memberId}`, { role: 'viewer' })).status).toBe(
        200,
      );
      const demoted = await b.get(keysPath);
      expect(demoted.status).toBe(403);
      expect(demoted.body).toMatchObject({ error: 'forbidden' });
      const org = await b.get<{ role: string }>(`/api/orgs/${owner.orgId}`);
      expect(org.status).toBe(200);
      expect(org.body.role).toBe('viewer');

      // Removed on A: the org is gone for them on B at once (404, as for any org they are not in).
      expect((await a.del(`/api/orgs/${owner.orgId}/members/${memberId}`)).status).toBe(200);
      expect((await b.get(`/api/orgs/${owner.orgId}`)).status).toBe(404);
      expect((await b.get('/api/me')).status).toBe(200); // the session itself is still valid

      // Signing out everywhere on A ends the session on B at once too.
      expect((await api(nodeA.baseUrl, login.body.token).post('/api/auth/logout-all')).status).toBe(200);
      expect((await b.get('/api/me')).status).toBe(401);
    });
  });
});
