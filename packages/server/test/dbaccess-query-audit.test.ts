/**
 * The query audit is served like the org audit (review finding, Low): `format=json` answered the org's whole
 * query log in one array built in memory. Now json is one page (cursor, limit, order) and csv / ndjson stream a
 * page at a time.
 */
import { type Account, api, signup } from '@rampart/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendPrepared, prepareAudit } from '../src/platform/audit/append.js';
import { ENGINES, startTestServer } from './helpers.js';

const ROWS = 1_100;

describe.each(ENGINES)('query audit paging (%s)', (engine) => {
  let srv: Awaited<ReturnType<typeof startTestServer>>;
  let owner: Account;
  type Page = { entries: Array<{ seq: number; tool: string; params: number }>; nextCursor: string | null };
  const get = <T>(qs: string) =>
    api(srv.baseUrl, owner.token).get<T>(`/api/orgs/${owner.orgId}/query-audit${qs}`);

  beforeAll(async () => {
    srv = await startTestServer(engine);
    owner = await signup(srv.baseUrl);
    // A large query log: more rows than one json page and than one streamed page (500).
    await srv.rampart.services.db.org(owner.orgId, (q) =>
      appendPrepared(
        q,
        Array.from({ length: ROWS }, (_, i) =>
          prepareAudit(
            {},
            {
              orgId: owner.orgId,
              action: 'db.query',
              meta: { tool: 'run_select', params: i, outcome: 'ok' },
            },
          ),
        ),
      ),
    );
  });
  afterAll(() => srv.close());

  it('a large query log is served a page at a time as json (cursor, limit), never whole', async () => {
    const first = await get<Page>('');
    expect(first.status, first.text).toBe(200);
    expect(first.body.entries).toHaveLength(100);
    expect(first.body.nextCursor).toBe(String(first.body.entries.at(-1)?.seq));
    const seen: number[] = [];
    let cursor: string | null = '';
    while (cursor !== null) {
      const r: { status: number; body: Page } = await get<Page>(
        `?limit=500${cursor ? `&cursor=${cursor}` : ''}`,
      );
      expect(r.status).toBe(200);
      expect(r.body.entries.length).toBeLessThanOrEqual(500);
      seen.push(...r.body.entries.map((e) => e.params));
      cursor = r.body.nextCursor;
    }
    expect(seen).toEqual(Array.from({ length: ROWS }, (_, i) => i));
  });

  it('order=desc pages newest first (the dashboard reads the newest page)', async () => {
    const newest = await get<Page>('?order=desc&limit=3');
    expect(newest.body.entries.map((e) => e.params)).toEqual([ROWS - 1, ROWS - 2, ROWS - 3]);
    const next = await get<Page>(`?order=desc&limit=3&cursor=${newest.body.nextCursor}`);
    expect(next.body.entries.map((e) => e.params)).toEqual([ROWS - 4, ROWS - 5, ROWS - 6]);
  });

  it('csv and ndjson stream every row across pages; bad cursors and limits are 400', async () => {
    const nd = await get<unknown>('?format=ndjson');
    const lines = nd.text.trim().split('\n');
    expect(lines).toHaveLength(ROWS);
    expect(JSON.parse(lines.at(-1) ?? '{}')).toMatchObject({ params: ROWS - 1, tool: 'run_select' });
    const csv = await get<unknown>('?format=csv');
    expect(csv.text.split('\r\n')[0]).toMatch(/^seq,at,/);
    expect(csv.text.trim().split('\r\n')).toHaveLength(ROWS + 1);
    for (const bad of ['?cursor=abc', '?limit=0', '?limit=501', '?order=up'])
      expect((await get<{ error: string }>(bad)).body.error, bad).toBe('validation_failed');
  });
});
