/**
 * Billing: checkout nonces bound to org and product, the provider webhook verified by HMAC-SHA256 over the raw
 * body, nonces consumed once, refunds de-duplicated; forged and replayed events change nothing and are audited.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Account, api, signup } from './fixtures.js';
import { ENGINES, startTestServer } from './helpers.js';
import { sendBillingWebhook } from './widget-support.js';

type Srv = Awaited<ReturnType<typeof startTestServer>>;
interface Billing {
  plan: string;
  messageCredits: number;
  limits: { widgets: number };
}

const SECRET = 'billing-webhook-secret-for-tests-0001';

describe.each(ENGINES)('billing (%s)', (engine) => {
  let srv: Srv;
  let owner: Account;
  const o = (acc: Account = owner) => `/api/orgs/${acc.orgId}`;
  const a = (acc: Account = owner) => api(srv.baseUrl, acc.token);
  const billing = async (acc: Account = owner) => (await a(acc).get<Billing>(`${o(acc)}/billing`)).body;
  const checkout = async (plan: string, acc: Account = owner) => {
    const r = await a(acc).post<{ nonce: string; checkoutUrl: string }>(`${o(acc)}/billing/checkout`, {
      plan,
    });
    expect(r.status, r.text).toBe(200);
    return r.body;
  };
  const event = (name: string, nonce: string, id: string) => ({
    meta: { event_name: name, custom_data: { nonce } },
    data: { id, type: 'orders', attributes: { status: 'paid' } },
  });
  const auditActions = async (acc: Account = owner) =>
    (
      await a(acc).get<{ entries: Array<{ action: string; meta: Record<string, unknown> }> }>(
        `${o(acc)}/audit?limit=500`,
      )
    ).body.entries;

  beforeAll(async () => {
    srv = await startTestServer(engine, {
      RAMPART_BILLING_WEBHOOK_SECRET: SECRET,
      RAMPART_BILLING_CHECKOUT_URL: 'https://pay.example.com/buy/rampart-pro',
    });
    owner = await signup(srv.baseUrl);
  });
  afterAll(() => srv.close());

  it('checkout mints a nonce bound to the org and product, into the provider checkout URL', async () => {
    const c = await checkout('pro');
    expect(c.nonce).toMatch(/^[A-Za-z0-9_-]{32}$/);
    const url = new URL(c.checkoutUrl);
    expect(url.origin + url.pathname).toBe('https://pay.example.com/buy/rampart-pro');
    expect(url.searchParams.get('checkout[custom][nonce]')).toBe(c.nonce);
    expect(url.searchParams.get('checkout[custom][product]')).toBe('pro');
    // Stored as a hash only.
    const { rows } = await srv.rampart.services.db.org(owner.orgId, (q) =>
      q.query<{ n: number }>('SELECT count(*)::int AS n FROM billing_nonces WHERE nonce_hash = $1', [
        c.nonce,
      ]),
    );
    expect(rows[0]?.n).toBe(0);
    const bad = await a().post(`${o()}/billing/checkout`, { plan: 'platinum' });
    expect(bad.status).toBe(400);
  });

  it('a signed purchase changes the plan once; the same event again is 409 replayed and changes nothing', async () => {
    const c = await checkout('pro');
    expect((await billing()).plan).toBe('free');
    const first = await sendBillingWebhook(srv.baseUrl, SECRET, event('order_created', c.nonce, 'ord_1'));
    expect(first.status, first.text).toBe(200);
    expect(first.body.outcome).toBe('applied');
    expect(await billing()).toMatchObject({ plan: 'pro', limits: { widgets: 10 } });
    const again = await sendBillingWebhook(srv.baseUrl, SECRET, event('order_created', c.nonce, 'ord_1'));
    expect(again.status).toBe(409);
    expect(again.body.error).toBe('replayed');
    // Same nonce under another order id: the nonce is spent.
    const reuse = await sendBillingWebhook(
      srv.baseUrl,
      SECRET,
      event('subscription_created', c.nonce, 'sub_9'),
    );
    expect(reuse.status).toBe(409);
    expect((await billing()).plan).toBe('pro');
    const actions = (await auditActions()).map((e) => e.action);
    expect(actions.filter((x) => x === 'billing.event_applied')).toHaveLength(1);
    expect(actions.filter((x) => x === 'billing.webhook_replayed')).toHaveLength(2);
  });

  it('a forged or missing signature is 401 invalid_signature, changes nothing, and is audited', async () => {
    const victim = await signup(srv.baseUrl);
    const c = await checkout('business', victim);
    const body = event('order_created', c.nonce, 'ord_forged');
    const wrongKey = await sendBillingWebhook(srv.baseUrl, 'not-the-secret-at-all-000', body);
    const noSig = await sendBillingWebhook(srv.baseUrl, SECRET, body, '');
    const garbage = await sendBillingWebhook(srv.baseUrl, SECRET, body, 'zz'.repeat(32));
    for (const r of [wrongKey, noSig, garbage]) {
      expect(r.status).toBe(401);
      expect(r.body.error).toBe('invalid_signature');
    }
    // A valid signature over a different body does not carry over.
    const other = JSON.stringify(event('order_created', c.nonce, 'other'));
    const { signHmacHex } = await import('@rampart/core/webhooks');
    const swapped = await fetch(`${srv.baseUrl}/webhooks/billing`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-signature': signHmacHex(SECRET, other) },
      body: JSON.stringify(body),
    });
    expect(swapped.status).toBe(401);
    expect((await billing(victim)).plan).toBe('free');
    // The nonce survived the forgeries: the genuine event still applies.
    expect((await sendBillingWebhook(srv.baseUrl, SECRET, body)).status).toBe(200);
    expect((await billing(victim)).plan).toBe('business');
    const platform = await srv.rampart.services.db.platform((q) =>
      q.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM audit_log WHERE org_id IS NULL AND action = 'billing.webhook_rejected'
           AND meta::jsonb->>'reason' = 'invalid_signature'`,
      ),
    );
    expect(platform.rows[0]?.n).toBeGreaterThanOrEqual(4);
  });

  it('credits are added once; refunds apply once and are de-duplicated; unknown nonces and malformed bodies change nothing', async () => {
    const acc = await signup(srv.baseUrl);
    const credits = await checkout('credits_1000', acc);
    expect(
      (await sendBillingWebhook(srv.baseUrl, SECRET, event('order_created', credits.nonce, 'ord_c'))).status,
    ).toBe(200);
    expect((await billing(acc)).messageCredits).toBe(1_000);
    const plan = await checkout('pro', acc);
    expect(
      (await sendBillingWebhook(srv.baseUrl, SECRET, event('order_created', plan.nonce, 'ord_p'))).status,
    ).toBe(200);
    const refund = await sendBillingWebhook(
      srv.baseUrl,
      SECRET,
      event('order_refunded', plan.nonce, 'ord_p'),
    );
    expect(refund.status, refund.text).toBe(200);
    expect((await billing(acc)).plan).toBe('free');
    const refundAgain = await sendBillingWebhook(
      srv.baseUrl,
      SECRET,
      event('order_refunded', plan.nonce, 'ord_p'),
    );
    expect(refundAgain.status).toBe(409);
    // A refund for a checkout that was never paid is a replay of nothing: refused.
    const unpaid = await checkout('pro', acc);
    expect(
      (await sendBillingWebhook(srv.baseUrl, SECRET, event('order_refunded', unpaid.nonce, 'ord_x'))).status,
    ).toBe(409);
    const unknown = await sendBillingWebhook(
      srv.baseUrl,
      SECRET,
      event('order_created', 'n'.repeat(32), 'ord_u'),
    );
    expect(unknown.status).toBe(400);
    const malformed = await sendBillingWebhook(srv.baseUrl, SECRET, { hello: 'world' });
    expect(malformed.status).toBe(400);
    const ignored = await sendBillingWebhook(
      srv.baseUrl,
      SECRET,
      event('customer_updated', unpaid.nonce, 'c1'),
    );
    expect(ignored.status).toBe(200);
    expect(ignored.body.outcome).toBe('ignored');
    expect(await billing(acc)).toMatchObject({ plan: 'free', messageCredits: 1_000 });
  });

  it('concurrent deliveries of one purchase apply it exactly once', async () => {
    const acc = await signup(srv.baseUrl);
    const c = await checkout('credits_1000', acc);
    const results = await Promise.all(
      Array.from({ length: 12 }, () =>
        sendBillingWebhook(srv.baseUrl, SECRET, event('order_created', c.nonce, 'ord_race')),
      ),
    );
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(results.filter((r) => r.status === 409)).toHaveLength(11);
    expect((await billing(acc)).messageCredits).toBe(1_000);
  });

  it('without a configured secret, checkout and the webhook answer 503 and nothing is stored', async () => {
    const bare = await startTestServer(engine);
    try {
      const acc = await signup(bare.baseUrl);
      const r = await api(bare.baseUrl, acc.token).post<{ error: string }>(
        `/api/orgs/${acc.orgId}/billing/checkout`,
        {
          plan: 'pro',
        },
      );
      expect(r.status).toBe(503);
      const hook = await sendBillingWebhook(
        bare.baseUrl,
        SECRET,
        event('order_created', 'x'.repeat(32), 'o'),
      );
      expect(hook.status).toBe(503);
    } finally {
      await bare.close();
    }
  });
});
