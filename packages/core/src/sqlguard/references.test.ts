import { beforeAll, describe, expect, it } from 'vitest';
import { loadSqlGuard } from './guard.js';
import { queryReferences } from './references.js';

describe('queryReferences', () => {
  beforeAll(() => loadSqlGuard());

  it('lists relations with their schema, CTE names, and column identifiers at every depth', () => {
    const r = queryReferences(
      'WITH w AS (SELECT id FROM s.a) SELECT b.x, (b).y FROM b JOIN w USING (z) WHERE b.k IN (SELECT k FROM c)',
    );
    expect(r.relations).toHaveLength(4);
    expect(r.relations).toEqual(
      expect.arrayContaining([
        { schema: 's', name: 'a' },
        { schema: null, name: 'b' },
        { schema: null, name: 'w' },
        { schema: null, name: 'c' },
      ]),
    );
    expect(r.cteNames).toEqual(['w']);
    expect(r.identifiers).toEqual(expect.arrayContaining(['id', 'x', 'y', 'z', 'k']));
    // `(b).y` selects a field of b's whole-row value: flagged, conservatively.
    expect(r).toMatchObject({ star: false, wholeRow: true, renamesColumns: false });
    expect(queryReferences('SELECT b.x FROM b').wholeRow).toBe(false);
  });

  it.each([
    ['SELECT * FROM t', 'star'],
    ['SELECT t.* FROM t', 'star'],
    ['SELECT (t).* FROM t', 'star'],
    ['TABLE t', 'star'],
    ['SELECT u FROM t u', 'wholeRow'],
    ['SELECT t FROM public.t', 'wholeRow'],
    ['SELECT to_json(u) FROM t u', 'wholeRow'],
    ['SELECT x.c FROM t AS x(a, c)', 'renamesColumns'],
    ['SELECT 1 FROM t NATURAL JOIN (SELECT 1 AS a) g', 'renamesColumns'],
  ] as const)('%s sets %s', (sql, flag) => {
    expect(queryReferences(sql)[flag]).toBe(true);
  });

  it('u.to_json and (u).concat (attribute notation: the function on the whole row) are listed as calls', () => {
    expect(queryReferences('SELECT u.to_json, (u).concat, u.id FROM t u').attributeCalls).toEqual([
      'to_json',
      'concat',
    ]);
  });

  it('count(*) is not a star', () => {
    expect(queryReferences('SELECT count(*) FROM t').star).toBe(false);
  });
});
