/**
 * Forged billing webhooks (review finding, Low): every rejected call wrote a row to the platform audit chain,
 * so 301 forged calls wrote 301 chained rows. Rejections are now limited per client address: within the
 * budget they are refused and audited, beyond it they get 429 and write nothing; a genuine signed event from
 * the same address still applies.
 */
import { type Account, api, signup } from '@rampart/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, startTestServer } from './helpers.js';
import { orderEvent, sendBillingWebhook, TEST_BILLING_PLANS } from './widget-support.js';

const SECRET = 'billing-webhook-secret-for-tests-0002';
const BUDGET = 5;

describe.each(ENGINES)('forged billing webhook flood (%s)', (engine) => {
  let srv: Awaited<ReturnType<typeof startTestServer>>;
  let owner: Account;
  beforeAll(async () => {
    srv = await startTestServer(engine, {
      RAMPART_BILLING_WEBHOOK_SECRET: SECRET,
      RAMPART_BILLING_PLANS: TEST_BILLING_PLANS,
      RAMPART_BILLING_REJECTS_PER_IP_PER_MINUTE: String(BUDGET),
    });
    owner = await signup(srv.baseUrl);
  });
  afterAll(() => srv.close());

  const rejectedRows = async () =>
    (
      await srv.rampart.services.db.platform((q) =>
        q.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM audit_log WHERE org_id IS NULL AND action = 'billing.webhook_rejected'`,
        ),
      )
    ).rows[0]?.n;

  it('301 forged webhook calls write at most the per-IP budget of chained rows; the rest get 429', async () => {
    const c = await api(srv.baseUrl, owner.token).post<{ nonce: string }>(
      `/api/orgs/${owner.orgId}/billing/checkout`,
      { plan: 'pro' },
    );
    expect(c.status).toBe(200);
    const event = (id: string) => orderEvent('order_created', c.body.nonce, id, 'pro');
    const statuses: number[] = [];
    for (let batch = 0; batch < 301; batch += 25) {
      const n = Math.min(25, 301 - batch);
      const rs = await Promise.all(
        Array.from({ length: n }, (_, i) =>
          sendBillingWebhook(srv.baseUrl, 'not-the-secret-at-all-000', event(`forged_${batch + i}`)),
        ),
      );
      statuses.push(...rs.map((r) => r.status));
    }
    expect(statuses.filter((s) => s === 401)).toHaveLength(BUDGET);
    expect(statuses.filter((s) => s === 429)).toHaveLength(301 - BUDGET);
    expect(await rejectedRows()).toBe(BUDGET);
    // The genuine event is not refused for the forgeries sent from the same address, and applies once.
    const genuine = await sendBillingWebhook(srv.baseUrl, SECRET, event('ord_genuine'));
    expect(genuine.status).toBe(200);
    expect(genuine.body.outcome).toBe('applied');
    const billing = await api(srv.baseUrl, owner.token).get<{ plan: string }>(
      `/api/orgs/${owner.orgId}/billing`,
    );
    expect(billing.body.plan).toBe('pro');
    expect(await rejectedRows()).toBe(BUDGET);
  });
});
