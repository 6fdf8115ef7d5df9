/**
 * Database round trips of one widget message (issue 25 §4), counted by wrapping the server's database handle:
 * every transaction costs BEGIN, the tenant context and COMMIT, plus each statement run in it. The bounds fail
 * when someone adds a query to the message path: change them only with a reason (docs/WIDGET.md lists them).
 */
import { type Account, api, signup } from '@rampart/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../src/db/database.js';
import type { Queryable } from '../src/db/types.js';
import { startTestServer } from './helpers.js';
import { startModelStub, useStubProvider, visitor } from './widget-support.js';

const SHOP = 'https://shop.example.com';
/** A message on a warm node: widget lookup and routing cached. */
const WARM_BOUND = 13;
/** The first message after the caches expired: adds the widget lookup and the org's routing. */
const COLD_BOUND = 19;

/** Counts round trips on `db` until `stop()`: 3 per transaction (BEGIN, tenant context, COMMIT) + statements. */
function countRoundTrips(db: Database) {
  const original = db.tx.bind(db);
  const counter = { trips: 0, statements: [] as string[] };
  db.tx = <T>(ctx: Parameters<Database['tx']>[0], fn: (q: Queryable) => Promise<T>): Promise<T> => {
    counter.trips += 3;
    return original(ctx, (q) =>
      fn({
        ...q,
        query: (sql, params) => {
          counter.trips += 1;
          counter.statements.push(sql.replace(/\s+/g, ' ').slice(0, 80));
          return q.query(sql, params);
        },
        exec: (sql) => {
          counter.trips += 1;
          return q.exec(sql);
        },
      }),
    );
  };
  return {
    counter,
    reset: () => {
      counter.trips = 0;
      counter.statements = [];
    },
    stop: () => {
      db.tx = original;
    },
  };
}

describe('widget message round trips', () => {
  let srv: Awaited<ReturnType<typeof startTestServer>>;
  let stub: Awaited<ReturnType<typeof startModelStub>>;
  let owner: Account;
  let widgetId: string;

  beforeAll(async () => {
    stub = await startModelStub();
    srv = await startTestServer('pglite', {
      RAMPART_OUTBOUND_ALLOW: '127.0.0.1',
      RAMPART_TRUST_PROXY: '127.0.0.1',
    });
    owner = await signup(srv.baseUrl);
    await useStubProvider(srv.baseUrl, owner, stub.origin, ['chat-model']);
    const w = await api(srv.baseUrl, owner.token).post<{ id: string }>(`/api/orgs/${owner.orgId}/widgets`, {
      name: 'help',
      allowedOrigins: [SHOP],
      model: 'chat-model',
    });
    expect(w.status, w.text).toBe(201);
    widgetId = w.body.id;
    const doc = await api(srv.baseUrl, owner.token).post(
      `/api/orgs/${owner.orgId}/widgets/${widgetId}/documents`,
      {
        name: 'returns.md',
        content: 'You can return shoes within 30 days with the receipt.',
      },
    );
    expect(doc.status, doc.text).toBe(201);
  });
  afterAll(async () => {
    await srv?.close();
    await stub?.close();
  });

  it(`a message costs at most ${WARM_BOUND} round trips on a warm node, ${COLD_BOUND} on a cold one`, async () => {
    const v = visitor(srv.baseUrl, widgetId, SHOP);
    const { visitorToken } = (await v.session()).body;
    // Only the message path is counted: the mail worker polls the same handle in the background.
    await srv.rampart.services.mailWorker.stop();
    const count = countRoundTrips(srv.rampart.services.db);
    try {
      // Cold: nothing cached for this org on this node (the routing and widget caches dropped).
      srv.rampart.services.routing.clear();
      srv.rampart.services.publicWidgets.clear();
      const first = await v.message(visitorToken, 'Can I return shoes?');
      expect(first.status, first.text).toBe(200);
      const cold = count.counter.trips;
      count.reset();
      const second = await v.message(visitorToken, 'And with the receipt?');
      expect(second.status, second.text).toBe(200);
      const warm = count.counter.trips;
      console.log(
        `widget message round trips: cold ${cold}, warm ${warm}\n${count.counter.statements.join('\n')}`,
      );
      expect(warm, count.counter.statements.join('\n')).toBeLessThanOrEqual(WARM_BOUND);
      expect(cold).toBeLessThanOrEqual(COLD_BOUND);
    } finally {
      count.stop();
    }
  });

  it('the cached widget lookup never outlives a change: new origins and a deletion apply to the next call', async () => {
    const a = api(srv.baseUrl, owner.token);
    const v = visitor(srv.baseUrl, widgetId, SHOP);
    const { visitorToken } = (await v.session()).body;
    expect((await v.message(visitorToken, 'Warm the cache')).status).toBe(200);
    const other = 'https://other.example.com';
    const moved = await a.patch(`/api/orgs/${owner.orgId}/widgets/${widgetId}`, { allowedOrigins: [other] });
    expect(moved.status, moved.text).toBe(200);
    const refused = await v.message(visitorToken, 'Still there?');
    expect([refused.status, refused.body.error]).toEqual([403, 'origin_not_allowed']);
    const there = visitor(srv.baseUrl, widgetId, other);
    const t2 = (await there.session()).body.visitorToken;
    expect((await there.message(t2, 'Hello from the new site')).status).toBe(200);
    expect((await a.del(`/api/orgs/${owner.orgId}/widgets/${widgetId}`)).status).toBe(200);
    const gone = await there.message(t2, 'And now?');
    expect([gone.status, gone.body.error]).toEqual([404, 'not_found']);
  });
});
