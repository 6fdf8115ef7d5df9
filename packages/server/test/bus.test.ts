/**
 * The node bus (platform/bus.ts) on each transport: in-process, PostgreSQL LISTEN/NOTIFY, Redis pub/sub.
 * Delivery to every subscriber, unsubscribe, messages far past NOTIFY's 8000-byte payload limit, and what
 * happens when the transport's connection is cut: the bus reconnects, says so (caches drop everything they
 * hold, since what was missed is unknown), and later messages arrive again.
 */
import { randomUUID } from 'node:crypto';
import { createPgDatabase, type PgDatabase } from '@rampart/testing';
import { Redis } from 'ioredis';
import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Bus, type BusMessage, chunk, LocalBus, PgBus, RedisBus } from '../src/platform/bus.js';
import { Invalidations } from '../src/platform/invalidation.js';

const DB = process.env.TEST_DATABASE_URL;
const REDIS_URL = process.env.REDIS_URL;
const log = pino({ level: 'silent' });

function collector() {
  const got: BusMessage[] = [];
  return {
    got,
    fn: (m: BusMessage) => void got.push(m),
    async wait(n: number, timeoutMs = 5_000) {
      const deadline = Date.now() + timeoutMs;
      while (got.length < n) {
        if (Date.now() > deadline) throw new Error(`got ${got.length} of ${n} messages`);
        await new Promise((r) => setTimeout(r, 10));
      }
      return got;
    },
  };
}

describe('chunk (NOTIFY payloads)', () => {
  it('leaves a short message whole and cuts a long one into pieces under 8000 bytes each', () => {
    expect(chunk('{"a":1}')).toEqual(['{"a":1}']);
    // Four-byte characters all the way: the worst case for bytes per UTF-16 unit.
    const long = JSON.stringify({ s: '😀'.repeat(20_000) });
    const parts = chunk(long);
    expect(parts.length).toBeGreaterThan(1);
    for (const p of parts) {
      expect(Buffer.byteLength(p)).toBeLessThan(8_000);
      // No piece ends inside a surrogate pair (it would not survive UTF-8).
      expect(p).toBe(Buffer.from(p, 'utf8').toString('utf8'));
    }
    expect(parts.map((p) => p.replace(/^~[0-9a-f-]{36}:\d+:\d+:/, '')).join('')).toBe(long);
  });
});

type Make = () => Promise<{ a: Bus; b: Bus; cut: (bus: Bus) => Promise<void>; close(): Promise<void> }>;

const transports: Array<{ name: string; make: Make; skip: boolean }> = [
  {
    name: 'in-process',
    skip: false,
    make: async () => {
      // One process: both handles are the same bus (PGlite runs one node).
      const bus = new LocalBus(log);
      return { a: bus, b: bus, cut: async () => {}, close: () => bus.close() };
    },
  },
  {
    name: 'PostgreSQL LISTEN/NOTIFY',
    skip: !DB,
    make: async () => {
      const db: PgDatabase = await createPgDatabase();
      const pool = new pg.Pool({ connectionString: db.url, max: 2 });
      // An idle client cut by a terminate or a dropped database: the pool emits 'error', uncaught without this.
      pool.on('error', () => {});
      const notify = async (channel: string, payloads: string[]) => {
        await pool.query('SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p', [channel, payloads]);
      };
      const a = new PgBus(db.url, notify, log);
      const b = new PgBus(db.url, notify, log);
      await a.start();
      await b.start();
      return {
        a,
        b,
        // Terminates the bus's listening backend, as a PostgreSQL restart or a failover would.
        cut: async () => {
          await pool.query(
            `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
              WHERE datname = current_database() AND query LIKE 'LISTEN%' AND pid <> pg_backend_pid()`,
          );
        },
        close: async () => {
          await a.close();
          await b.close();
          await pool.end();
          await db.drop();
        },
      };
    },
  },
  {
    name: 'Redis pub/sub',
    skip: !REDIS_URL,
    make: async () => {
      const a = new RedisBus(REDIS_URL as string, log);
      const b = new RedisBus(REDIS_URL as string, log);
      const admin = new Redis(REDIS_URL as string);
      return {
        a,
        b,
        // Kills exactly this bus's subscriber connection (named after the node), not other tests' clients.
        cut: async (bus: Bus) => {
          const list = (await admin.client('LIST')) as string;
          const line = list.split('\n').find((l) => l.includes(`name=rampart-bus-${bus.nodeId}`));
          const id = /\bid=(\d+)/.exec(line ?? '')?.[1];
          if (!id) throw new Error('subscriber connection not found');
          await admin.client('KILL', 'ID', id);
        },
        close: async () => {
          await a.close();
          await b.close();
          admin.disconnect();
        },
      };
    },
  },
];

describe.each(transports)('node bus over $name', ({ make, skip }) => {
  let t: Awaited<ReturnType<Make>>;
  beforeAll(async () => {
    if (!skip) t = await make();
  });
  afterAll(async () => {
    await t?.close();
  });

  it.skipIf(skip)('delivers to every subscriber, and no more after unsubscribing', async () => {
    const x = collector();
    const y = collector();
    const channel = `t:${randomUUID()}`;
    const offX = await t.a.subscribe(channel, x.fn);
    await t.b.subscribe(channel, y.fn);
    await t.a.publish(channel, { n: 1 });
    await x.wait(1);
    await y.wait(1);
    offX();
    await new Promise((r) => setTimeout(r, 50)); // the UNLISTEN/UNSUBSCRIBE is asynchronous
    await t.b.publish(channel, { n: 2 });
    await y.wait(2);
    await new Promise((r) => setTimeout(r, 100));
    expect(x.got).toEqual([{ n: 1 }]);
    expect(y.got).toEqual([{ n: 1 }, { n: 2 }]);
  });

  it.skipIf(skip)('carries a 1 MB message intact (NOTIFY: in numbered chunks)', async () => {
    const y = collector();
    const channel = `t:${randomUUID()}`;
    await t.b.subscribe(channel, y.fn);
    const big = { rows: Array.from({ length: 4_000 }, (_, i) => [i, `naïve café ☕ ${'x'.repeat(230)} 😀`]) };
    expect(JSON.stringify(big).length).toBeGreaterThan(1_000_000);
    await t.a.publish(channel, big);
    const [m] = await y.wait(1, 10_000);
    expect(m).toEqual(big);
  });

  it.skipIf(skip)('drops malformed channel names before they reach the transport', async () => {
    await expect(t.a.publish('Bad Channel', {})).rejects.toThrow(/invalid channel/);
    await expect(t.a.subscribe('x'.repeat(80), () => {})).rejects.toThrow(/invalid channel/);
  });

  it.skipIf(skip)('after its connection is cut: reconnects, says so, and delivers again', async () => {
    if (t.a instanceof LocalBus) return; // nothing to cut in one process
    const y = collector();
    const channel = `t:${randomUUID()}`;
    await t.b.subscribe(channel, y.fn);
    let resets = 0;
    const inv = new Invalidations(t.b, log);
    await inv.start();
    inv.onReset(() => resets++);
    await t.cut(t.b);
    await expect.poll(() => resets, { timeout: 10_000 }).toBeGreaterThan(0);
    await expect
      .poll(
        async () => {
          await t.a.publish(channel, { after: 'cut' });
          return y.got.length;
        },
        { timeout: 10_000, interval: 200 },
      )
      .toBeGreaterThan(0);
    expect(y.got[0]).toEqual({ after: 'cut' });
  });
});

describe('invalidations', () => {
  it('drop the entry on the announcing node at once and on another node on the message', async () => {
    const bus = new LocalBus(log);
    const here = new Invalidations(bus, log);
    const there = new Invalidations(bus, log);
    await here.start();
    await there.start();
    const droppedHere: string[] = [];
    const droppedThere: string[] = [];
    here.on('api_key', (id) => droppedHere.push(id));
    there.on('api_key', (id) => droppedThere.push(id));
    const id = randomUUID();
    await here.announce('api_key', id);
    expect(droppedHere).toEqual([id]);
    // One process, one node id: the other "node" here ignores its own node's message, as a node should.
    await new Promise((r) => setTimeout(r, 20));
    expect(droppedThere).toEqual([]);
    // A message from another node (another id) is applied; a malformed one is not.
    await bus.publish('invalidate', { kind: 'api_key', id, from: randomUUID() });
    await bus.publish('invalidate', { kind: 'api_key', id: 'not-a-uuid', from: randomUUID() });
    await bus.publish('invalidate', { kind: 'everything', id, from: randomUUID() });
    await expect.poll(() => droppedThere).toEqual([id]);
    await new Promise((r) => setTimeout(r, 20));
    expect(droppedThere).toEqual([id]);
    await bus.close();
  });

  it('never fail the change they announce when the bus is down (the TTL bounds it)', async () => {
    const bus = new LocalBus(log);
    const inv = new Invalidations(bus, log);
    await inv.start();
    const dropped: string[] = [];
    inv.on('org', (id) => dropped.push(id));
    await bus.close();
    const id = randomUUID();
    await expect(inv.announce('org', id)).resolves.toBeUndefined();
    expect(dropped).toEqual([id]);
  });
});
