/**
 * Attack on the review fixes (issue 19): the on-prem agent keeps one connection to the customer database and
 * handled every WebSocket message at once on it. Two queries in flight interleave their statements on that
 * connection, so the second one's statement could run after the first one's ROLLBACK: outside any transaction,
 * so not READ ONLY, without statement_timeout, and with the database's own standard_conforming_strings. On a
 * database set to standard_conforming_strings=off, the guard and PostgreSQL then read string literals
 * differently, and a call the guard saw inside a string ran.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAgentAudit } from '../src/dbaccess/agent-audit.js';
import { agentQueryHandler } from '../src/dbaccess/agent-client.js';
import { runSandboxed } from '../src/dbaccess/sandbox.js';
import { createReaderDatabase, type ReaderDatabase } from './dbaccess-support.js';

const BASE = process.env.TEST_DATABASE_URL;

describe.skipIf(!BASE)('the agent runs one query at a time on its connection (real PostgreSQL)', () => {
  let customer: ReaderDatabase;
  let client: pg.Client;
  let pid: number;

  beforeAll(async () => {
    customer = await createReaderDatabase(BASE as string);
    const { admin } = customer;
    const role = decodeURIComponent(new URL(customer.readerUrl).username);
    const db = (await admin.query<{ d: string }>('SELECT current_database() AS d')).rows[0]?.d as string;
    await admin.query(`
      CREATE TABLE items (id int, name text);
      INSERT INTO items VALUES (1, 'widget');
      GRANT SELECT ON items TO ${role};
      CREATE FUNCTION public.touch(c customers) RETURNS int LANGUAGE sql VOLATILE
        AS $$ SELECT 1 FROM (SELECT pg_advisory_lock(990)) s $$;
      ALTER DATABASE ${db} SET standard_conforming_strings = off`);
    client = new pg.Client({ connectionString: customer.readerUrl });
    client.on('error', () => {});
    await client.connect();
    pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid as number;
  });
  afterAll(async () => {
    await client?.end().catch(() => {});
    await customer?.close();
  });

  const agent = () => agentQueryHandler({ database: async () => client });
  const sandbox = () => (sql: string, params: unknown[]) => runSandboxed(client, sql, params);
  it.each([
    ['through the agent handler', agent],
    ['through runSandboxed on a shared connection', sandbox],
  ])(
    'a query sent while another runs does not escape into autocommit (%s, the escape trick reaches c.touch)',
    async (_how, make) => {
      // The guard (standard_conforming_strings=on) reads i.name and two strings; PostgreSQL with the setting off
      // reads the first string as ending at "', '" and runs c.touch, a call by attribute notation.
      const trick = "SELECT i.name, 'x\\', 'y, c.touch AS z FROM items i, customers c -- ' FROM items i";
      const handle = make();
      const locks = async () =>
        (
          await customer.admin.query<{ n: number }>(
            "SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND pid = $1",
            [pid],
          )
        ).rows[0]?.n;
      const ticks = (n: number) =>
        Array.from({ length: n }).reduce<Promise<void>>(
          (p) => p.then(() => new Promise((r) => setImmediate(r))),
          Promise.resolve(),
        );
      // The second query arrives at every point of the first one's statements.
      for (let delay = 0; delay < 12; delay++) {
        const first = handle('SELECT 1 AS one', []);
        await ticks(delay);
        const [a, b] = await Promise.allSettled([first, handle(trick, [])]);
        expect(a.status).toBe('fulfilled');
        // Run in its own read-only transaction, the trick is what the guard read: a name and two strings.
        const held = await locks();
        if (held) await client.query('SELECT pg_advisory_unlock_all()');
        expect(held, `delay ${delay}: c.touch ran`).toBe(0);
        expect(b.status, JSON.stringify(b)).toBe('fulfilled');
        if (b.status === 'fulfilled')
          expect(b.value.rows).toEqual([['widget', 'x\\', 'y, c.touch AS z FROM items i, customers c -- ']]);
      }
      // And the connection is left as it was: no transaction open, no setting changed.
      const state = await client.query<{ scs: string }>(
        "SELECT current_setting('standard_conforming_strings') AS scs",
      );
      expect(state.rows[0]?.scs).toBe('off');
    },
  );
});

describe.skipIf(!BASE)('the agent queue is bounded (real PostgreSQL)', () => {
  let customer: ReaderDatabase;
  let client: pg.Client;
  beforeAll(async () => {
    customer = await createReaderDatabase(BASE as string);
    client = new pg.Client({ connectionString: customer.readerUrl });
    client.on('error', () => {});
    await client.connect();
  });
  afterAll(async () => {
    await client?.end().catch(() => {});
    await customer?.close();
  });

  it('a burst from a compromised or overloaded server cannot pile work on the database: 503 past the queue, 504 past the wait', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'rampart-agent-queue-')), 'audit.jsonl');
    const handle = agentQueryHandler({
      database: async () => client,
      audit: openAgentAudit(file),
      maxQueued: 3,
      maxWaitMs: 150,
      limits: { timeoutMs: 3_000 },
    });
    // Three are taken (the first holds the connection for a second or more, two wait); the rest are refused at once.
    const results = await Promise.allSettled([
      handle('SELECT pg_catalog.count(*) FROM generate_series(1, 20000000)', []),
      ...Array.from({ length: 6 }, () => handle('SELECT 1 AS one', [])),
    ]);
    const codes = results.map((r) =>
      r.status === 'fulfilled' ? 'ok' : ((r.reason as { code?: string }).code ?? 'error'),
    );
    expect(codes.filter((c) => c === 'service_unavailable')).toHaveLength(4);
    // Whether the long query finished inside the wait bound depends on the machine; the waiting ones did not run.
    expect(codes.slice(1).filter((c) => c === 'ok')).toHaveLength(0);
    expect(codes.filter((c) => c === 'upstream_timeout').length).toBeGreaterThanOrEqual(2);
    // Every query received, refused or not, has its line in the local audit file.
    const lines = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { outcome: string });
    expect(lines).toHaveLength(7);
    expect(lines.filter((l) => l.outcome === 'service_unavailable')).toHaveLength(4);
    // The connection is free afterwards.
    expect((await handle('SELECT 1 AS one', [])).rows).toEqual([[1]]);
  });
});
