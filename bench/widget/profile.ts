// Where a widget message's time goes: a CPU profile of Rampart's thread under load, and the pieces of the
// message path timed alone on an idle server.
import { randomUUID } from 'node:crypto';
import { guardedFetch } from '../../packages/server/src/platform/outbound/fetch.js';
import { RETRIEVED_CHUNKS } from '../../packages/server/src/widget/chat.js';
import { admitMessage } from '../../packages/server/src/widget/quota.js';
import { retrieve } from '../../packages/server/src/widget/retrieval.js';
import { hashIp, verifyVisitor, visitorKeys } from '../../packages/server/src/widget/visitor.js';
import { getWidget } from '../../packages/server/src/widget/widgets.js';
import type { CheckedLoader, Target } from '../lib/checked-load.js';
import { profileThread } from '../lib/cpu-profile.js';
import { medianUs } from '../lib/latency.js';
import { httpCategorise, type ProfileResult, profileResult } from '../lib/rampart-profile.js';
import { CONTENDED, type Instance, type Plan, STUB_PATH, UPSTREAM_KEY, VISITOR_MESSAGE } from './setup.js';

/** Median µs of each piece, timed alone. */
export interface Pieces {
  readonly empty: number;
  readonly lookup: number;
  readonly admit: number;
  readonly widgetRow: number;
  readonly retrieve: number;
  readonly record: number;
  readonly tokenAndIp: number;
  /** The model call as the widget makes it (`guardedFetch`: undici's fetch through the outbound guard). */
  readonly modelFetch: number;
  /** The same call as the gateway makes it (undici's `dispatcher.request` through the same guard). */
  readonly modelRequest: number;
}

export async function profileWidget(
  loader: CheckedLoader,
  widget: Target,
  settle: (n: number) => Promise<void>,
  plan: Plan,
  tag: string,
): Promise<ProfileResult> {
  const { result, profile } = await profileThread(() =>
    loader.run(`${tag} widget profiled`, widget(CONTENDED, 0, plan.profileRequests)),
  );
  await settle(plan.profileRequests);
  return profileResult(profile, httpCategorise, plan.profileRequests, result);
}

/** The database transactions of one message (and its CPU-only checks), each timed alone, one after another. */
export async function timePieces(
  inst: Instance,
  plan: Plan,
  loader: CheckedLoader,
  stubOrigin: string,
  modelBody: string,
): Promise<Pieces> {
  const { db, jwtKeys, outbound } = inst.rampart.services;
  const { orgId, widgetId } = inst;
  const n = plan.pieceRuns;
  const keys = visitorKeys(jwtKeys);
  const empty = await medianUs(n, () => db.org(orgId, async () => undefined));
  const lookup = await medianUs(n, () =>
    db.tx({ orgId: null }, (q) =>
      q.query(
        'SELECT org_id::text AS org_id, allowed_origins, per_ip_per_minute, per_widget_per_minute FROM rampart_widget_public($1)',
        [widgetId],
      ),
    ),
  );
  const admit = await medianUs(n, () => db.org(orgId, (q) => admitMessage(q, orgId, new Date())));
  const widgetRow = await medianUs(n, () => db.org(orgId, (q) => getWidget(q, orgId, widgetId)));
  const retrieval = await medianUs(n, () =>
    db.org(orgId, (q) => retrieve(q, orgId, widgetId, VISITOR_MESSAGE, RETRIEVED_CHUNKS)),
  );
  const ipHash = hashIp(keys, '198.51.100.9');
  const visitorId = randomUUID();
  const record = await medianUs(n, () =>
    db.org(orgId, (q) =>
      q.query(
        `INSERT INTO widget_messages (id, org_id, widget_id, visitor_id, ip_hash, chunks, status, latency_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
        [randomUUID(), orgId, widgetId, visitorId, ipHash, RETRIEVED_CHUNKS, 200, 1],
      ),
    ),
  );
  const tokenAndIp = await medianUs(n * 10, () => {
    verifyVisitor(keys, inst.visitorToken, widgetId, new Date());
    hashIp(keys, '198.51.100.9');
  });
  const headers = { authorization: `Bearer ${UPSTREAM_KEY}`, 'content-type': 'application/json' };
  const modelFetch = await medianUs(n, () =>
    guardedFetch(outbound, `${stubOrigin}${STUB_PATH}`, {
      method: 'POST',
      headers,
      body: modelBody,
      timeoutMs: 60_000,
      maxBytes: 1024 * 1024,
      maxRedirects: 0,
    }),
  );
  const modelRequest = await medianUs(n, async () => {
    const res = await outbound.request({
      origin: stubOrigin,
      path: STUB_PATH,
      method: 'POST',
      headers,
      body: modelBody,
    });
    await res.body.arrayBuffer();
  });
  // medianUs runs n / 10 unrecorded calls first.
  loader.sentOutside(2 * (n + Math.ceil(n / 10)));
  return {
    empty,
    lookup,
    admit,
    widgetRow,
    retrieve: retrieval,
    record,
    tokenAndIp,
    modelFetch,
    modelRequest,
  };
}
