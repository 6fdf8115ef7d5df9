/**
 * PGlite runs no autovacuum, so the maintenance sweep ANALYZEs the big tables there (issue 23 §5); PostgreSQL
 * analyzes by itself and the sweep leaves it alone. Driven by the real sweep timer with a one-second cadence.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ANALYZED_TABLES } from '../src/db/analyze.js';
import { ENGINES, startTestServer } from './helpers.js';

type Srv = Awaited<ReturnType<typeof startTestServer>>;
let srv: Srv | undefined;
afterEach(async () => {
  await srv?.close();
  srv = undefined;
});

/** Manual ANALYZE times (autoanalyze has its own column) of the listed tables. */
async function lastAnalyze(s: Srv): Promise<Map<string, Date | null>> {
  const { rows } = await s.rampart.services.db.owner((q) =>
    q.query<{ relname: string; last_analyze: Date | null }>(
      'SELECT relname, last_analyze FROM pg_stat_user_tables WHERE relname = ANY($1)',
      [[...ANALYZED_TABLES]],
    ),
  );
  return new Map(rows.map((r) => [r.relname, r.last_analyze]));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(ENGINES)('ANALYZE sweep (%s)', (engine) => {
  it(engine === 'pglite' ? 'analyzes every listed table' : 'leaves PostgreSQL to autovacuum', async () => {
    srv = await startTestServer(engine, { RAMPART_TELEMETRY_SWEEP_MS: '1000' });
    const s = srv;
    const before = await lastAnalyze(s);
    expect([...before.keys()].sort()).toEqual([...ANALYZED_TABLES].sort()); // every listed table exists
    expect([...before.values()].every((v) => v === null)).toBe(true);
    const { rows: reltuples } = await s.rampart.services.db.owner((q) =>
      q.query<{ reltuples: number }>(`SELECT reltuples FROM pg_class WHERE relname = 'audit_log'`),
    );
    expect(reltuples[0]?.reltuples).toBe(-1); // never analyzed: the planner knows nothing

    const deadline = Date.now() + (engine === 'pglite' ? 15_000 : 4_000);
    let after = before;
    while (Date.now() < deadline) {
      await sleep(500);
      after = await lastAnalyze(s);
      if (engine === 'pglite' && [...after.values()].every((v) => v !== null)) break;
    }
    if (engine === 'pglite') {
      expect([...after.entries()].filter(([, v]) => v === null).map(([k]) => k)).toEqual([]);
      const { rows } = await s.rampart.services.db.owner((q) =>
        q.query<{ reltuples: number }>(`SELECT reltuples FROM pg_class WHERE relname = 'audit_log'`),
      );
      expect(rows[0]?.reltuples).toBeGreaterThanOrEqual(0);
    } else {
      // Several sweeps have passed (4 s at a 1 s cadence): still no manual ANALYZE on PostgreSQL.
      expect([...after.values()].every((v) => v === null)).toBe(true);
    }
  }, 60_000);
});
