/**
 * Billing: checkout nonces bound to org and product, each product its own checkout URL, the provider webhook
 * verified by HMAC-SHA256 over the raw body, nonces consumed once, refunds de-duplicated; forged and replayed
 * events change nothing and are audited. An event is applied only when its variant and amount are what
 * RAMPART_BILLING_PLANS says the nonce's product is (issue 19, finding 9), and the subscription lifecycle
 * (renewals, failed payments with grace, cancellation, expiry) follows the provider's events.
 */
import { type Account, api, signup } from '@rampart/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseBillingPlans } from '../src/platform/billing-config.js';
import { ConfigError, loadConfig } from '../src/platform/config.js';
import { ENGINES, startTestServer } from './helpers.js';
import {
  invoiceEvent,
  orderEvent,
  sendBillingWebhook,
  subscriptionEvent,
  TEST_BILLING_PLANS,
  TEST_PRODUCTS,
} from './widget-support.js';

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
  const send = (event: unknown) => sendBillingWebhook(srv.baseUrl, SECRET, event);
  const auditActions = async (acc: Account = owner) =>
    (
      await a(acc).get<{ entries: Array<{ action: string; meta: Record<string, unknown> }> }>(
        `${o(acc)}/audit?limit=500`,
      )
    ).body.entries;
  /** The stored billing row, plan_until included (the API shows the plan in force). */
  const row = async (acc: Account) =>
    (
      await srv.rampart.services.db.org(acc.orgId, (q) =>
        q.query<{ plan: string; message_credits: number; plan_until: Date | null }>(
          'SELECT plan, message_credits, plan_until FROM org_billing WHERE org_id = $1',
          [acc.orgId],
        ),
      )
    ).rows[0];
  /** Moves the org's plan_until into the past, as if the grace period or the paid period had run out. */
  const timePasses = (acc: Account) =>
    srv.rampart.services.db.org(acc.orgId, (q) =>
      q.query(
        `UPDATE org_billing SET plan_until = now() - interval '1 second' WHERE org_id = $1 AND plan_until IS NOT NULL`,
        [acc.orgId],
      ),
    );
  /** A pro subscription bought and linked: order_created then subscription_created for subscription `sub`. */
  const subscribed = async (sub: string, product: 'pro' | 'business' = 'pro') => {
    const acc = await signup(srv.baseUrl);
    const c = await checkout(product, acc);
    expect((await send(orderEvent('order_created', c.nonce, `ord_${sub}`, product))).status).toBe(200);
    const linked = await send(subscriptionEvent('subscription_created', c.nonce, sub, product));
    expect(linked.status, linked.text).toBe(200);
    expect((await billing(acc)).plan).toBe(product);
    return { acc, nonce: c.nonce };
  };

  beforeAll(async () => {
    srv = await startTestServer(engine, {
      RAMPART_BILLING_WEBHOOK_SECRET: SECRET,
      RAMPART_BILLING_PLANS: TEST_BILLING_PLANS,
    });
    owner = await signup(srv.baseUrl);
  });
  afterAll(() => srv.close());

  it("checkout mints a nonce bound to the org and product, into that product's own checkout URL", async () => {
    for (const product of ['pro', 'business', 'credits_1000'] as const) {
      const c = await checkout(product);
      expect(c.nonce).toMatch(/^[A-Za-z0-9_-]{32}$/);
      const url = new URL(c.checkoutUrl);
      expect(url.origin + url.pathname).toBe(TEST_PRODUCTS[product].checkout);
      expect(url.searchParams.get('checkout[custom][nonce]')).toBe(c.nonce);
      expect(url.searchParams.get('checkout[custom][product]')).toBe(product);
      // Stored as a hash only.
      const { rows } = await srv.rampart.services.db.org(owner.orgId, (q) =>
        q.query<{ n: number }>('SELECT count(*)::int AS n FROM billing_nonces WHERE nonce_hash = $1', [
          c.nonce,
        ]),
      );
      expect(rows[0]?.n).toBe(0);
    }
    const bad = await a().post(`${o()}/billing/checkout`, { plan: 'platinum' });
    expect(bad.status).toBe(400);
  });

  it('a signed purchase changes the plan once; the same event again is 409 replayed and changes nothing', async () => {
    const c = await checkout('pro');
    expect((await billing()).plan).toBe('free');
    const first = await send(orderEvent('order_created', c.nonce, 'ord_1', 'pro'));
    expect(first.status, first.text).toBe(200);
    expect(first.body.outcome).toBe('applied');
    expect(await billing()).toMatchObject({ plan: 'pro', limits: { widgets: 10 } });
    const again = await send(orderEvent('order_created', c.nonce, 'ord_1', 'pro'));
    expect(again.status).toBe(409);
    expect(again.body.error).toBe('replayed');
    // Same nonce under another order id: the nonce is spent.
    const reuse = await send(orderEvent('order_created', c.nonce, 'ord_9', 'pro'));
    expect(reuse.status).toBe(409);
    expect((await billing()).plan).toBe('pro');
    const actions = (await auditActions()).map((e) => e.action);
    expect(actions.filter((x) => x === 'billing.event_applied')).toHaveLength(1);
    expect(actions.filter((x) => x === 'billing.webhook_replayed')).toHaveLength(2);
  });

  it('a "business" nonce paid through the cheaper "pro" product grants nothing (variant and amount are checked)', async () => {
    const acc = await signup(srv.baseUrl);
    const c = await checkout('business', acc);
    // The owner opens the pro checkout with the business nonce as custom data and pays for pro.
    const cheap = await send(orderEvent('order_created', c.nonce, 'ord_cheap', 'pro'));
    expect(cheap.status, cheap.text).toBe(422);
    expect(cheap.body.error).toBe('billing_mismatch');
    // The business variant id with the pro price (a discounted or tampered order) is refused as well.
    const underpaid = await send(
      orderEvent('order_created', c.nonce, 'ord_under', 'business', { subtotal: TEST_PRODUCTS.pro.price }),
    );
    expect(underpaid.status).toBe(422);
    const otherCurrency = await send(
      orderEvent('order_created', c.nonce, 'ord_cur', 'business', { currency: 'JPY' }),
    );
    expect(otherCurrency.status).toBe(422);
    const unpaid = await send(
      orderEvent('order_created', c.nonce, 'ord_pend', 'business', { status: 'pending' }),
    );
    expect(unpaid.status).toBe(422);
    expect(await billing(acc)).toMatchObject({ plan: 'free', messageCredits: 0 });
    const rejected = (await auditActions(acc)).filter((e) => e.action === 'billing.webhook_rejected');
    expect(rejected.map((e) => e.meta.reason)).toEqual([
      'variant_mismatch',
      'amount_mismatch',
      'currency_mismatch',
      'not_paid',
    ]);
    // The nonce was not spent by the refusals: the genuine business payment still applies.
    expect((await send(orderEvent('order_created', c.nonce, 'ord_real', 'business'))).status).toBe(200);
    expect((await billing(acc)).plan).toBe('business');
  });

  it('every handled event with a forged variant, amount, currency or subscription changes nothing', async () => {
    const { acc, nonce } = await subscribed('7001', 'business');
    const credits = await checkout('credits_1000', acc);
    const before = await row(acc);
    const forged: Array<[string, unknown]> = [];
    for (const name of ['order_created', 'order_refunded']) {
      forged.push([
        `${name} pro variant`,
        orderEvent(name, nonce, `f_${name}_v`, 'business', { variant: 1001 }),
      ]);
      forged.push([
        `${name} unknown variant`,
        orderEvent(name, nonce, `f_${name}_u`, 'business', { variant: 9 }),
      ]);
      forged.push([
        `${name} credits variant on a plan nonce`,
        orderEvent(name, nonce, `f_${name}_c`, 'business', { variant: 1003 }),
      ]);
    }
    forged.push([
      'order_created underpaid',
      orderEvent('order_created', credits.nonce, 'f_cr', 'credits_1000', { subtotal: 1 }),
    ]);
    for (const name of [
      'subscription_created',
      'subscription_cancelled',
      'subscription_resumed',
      'subscription_expired',
    ]) {
      forged.push([
        `${name} pro variant`,
        subscriptionEvent(name, nonce, '7001', 'business', { variant: 1001 }),
      ]);
      forged.push([`${name} other subscription`, subscriptionEvent(name, nonce, '7999', 'business')]);
    }
    forged.push([
      'subscription_updated other subscription',
      subscriptionEvent('subscription_updated', nonce, '7999', 'pro'),
    ]);
    forged.push([
      'subscription on a one-off product',
      subscriptionEvent('subscription_created', credits.nonce, '7002', 'credits_1000'),
    ]);
    for (const name of ['subscription_payment_success', 'subscription_payment_recovered']) {
      forged.push([
        `${name} pro price`,
        invoiceEvent(name, nonce, `f_${name}_p`, '7001', 'business', { subtotal: 1900 }),
      ]);
      forged.push([
        `${name} other currency`,
        invoiceEvent(name, nonce, `f_${name}_c`, '7001', 'business', { currency: 'EUR' }),
      ]);
      forged.push([
        `${name} unpaid`,
        invoiceEvent(name, nonce, `f_${name}_s`, '7001', 'business', { status: 'pending' }),
      ]);
      forged.push([
        `${name} other subscription`,
        invoiceEvent(name, nonce, `f_${name}_o`, '7999', 'business'),
      ]);
    }
    forged.push([
      'subscription_payment_failed other subscription',
      invoiceEvent('subscription_payment_failed', nonce, 'f_failed_o', '7999', 'business'),
    ]);
    for (const [what, ev] of forged) {
      const r = await send(ev);
      expect(r.status, `${what}: ${r.text}`).toBe(422);
      expect(r.body.error, what).toBe('billing_mismatch');
    }
    expect(await row(acc)).toEqual(before);
    expect((await billing(acc)).plan).toBe('business');
  });

  it('renewals keep the plan; a failed payment keeps it for the grace period, then it lapses; recovery restores it', async () => {
    const { acc, nonce } = await subscribed('5001');
    expect(
      (
        await send(
          invoiceEvent('subscription_payment_success', nonce, 'inv_0', '5001', 'pro', {
            billingReason: 'initial',
          }),
        )
      ).body.outcome,
    ).toBe('ignored');
    const renewed = await send(invoiceEvent('subscription_payment_success', nonce, 'inv_1', '5001', 'pro'));
    expect(renewed.status, renewed.text).toBe(200);
    expect(
      (await send(invoiceEvent('subscription_payment_success', nonce, 'inv_1', '5001', 'pro'))).status,
    ).toBe(409);
    const failed = await send(invoiceEvent('subscription_payment_failed', nonce, 'inv_2', '5001', 'pro'));
    expect(failed.status, failed.text).toBe(200);
    const grace = (await row(acc))?.plan_until;
    expect(grace).toBeInstanceOf(Date);
    const days = ((grace as Date).getTime() - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(6.9);
    expect(days).toBeLessThanOrEqual(7);
    expect((await billing(acc)).plan).toBe('pro');
    await timePasses(acc);
    expect(await billing(acc)).toMatchObject({ plan: 'free', limits: { widgets: 1 } });
    const recovered = await send(
      invoiceEvent('subscription_payment_recovered', nonce, 'inv_3', '5001', 'pro'),
    );
    expect(recovered.status, recovered.text).toBe(200);
    expect(await row(acc)).toMatchObject({ plan: 'pro', plan_until: null });
    expect((await billing(acc)).plan).toBe('pro');
  });

  it('a cancelled subscription keeps the plan until its period ends; resumed, it stays; expired, it ends', async () => {
    const { acc, nonce } = await subscribed('6001');
    const ends = new Date(Date.now() + 10 * 86_400_000).toISOString();
    const cancelled = await send(
      subscriptionEvent('subscription_cancelled', nonce, '6001', 'pro', {
        status: 'cancelled',
        endsAt: ends,
        updatedAt: 'u1',
      }),
    );
    expect(cancelled.status, cancelled.text).toBe(200);
    expect((await row(acc))?.plan_until?.toISOString()).toBe(ends);
    expect((await billing(acc)).plan).toBe('pro');
    expect(
      (await send(subscriptionEvent('subscription_resumed', nonce, '6001', 'pro', { updatedAt: 'u2' })))
        .status,
    ).toBe(200);
    expect((await row(acc))?.plan_until).toBeNull();
    // Cancelled again (a later update of the same subscription is not a replay), and the period runs out.
    expect(
      (
        await send(
          subscriptionEvent('subscription_cancelled', nonce, '6001', 'pro', {
            endsAt: ends,
            updatedAt: 'u3',
          }),
        )
      ).status,
    ).toBe(200);
    await timePasses(acc);
    expect((await billing(acc)).plan).toBe('free');
    const expired = await send(
      subscriptionEvent('subscription_expired', nonce, '6001', 'pro', { status: 'expired', updatedAt: 'u4' }),
    );
    expect(expired.status, expired.text).toBe(200);
    expect(await row(acc)).toMatchObject({ plan: 'free', plan_until: null });
    // The same delivery again is a replay.
    expect(
      (
        await send(
          subscriptionEvent('subscription_expired', nonce, '6001', 'pro', {
            status: 'expired',
            updatedAt: 'u4',
          }),
        )
      ).status,
    ).toBe(409);
  });

  it('a subscription switched at the provider to the cheaper variant loses the plan it no longer pays for', async () => {
    const { acc, nonce } = await subscribed('8001', 'business');
    const switched = await send(
      subscriptionEvent('subscription_updated', nonce, '8001', 'pro', { updatedAt: 'switch-1' }),
    );
    expect(switched.status, switched.text).toBe(200);
    expect((await billing(acc)).plan).toBe('free');
    // Same-variant updates change nothing.
    const { acc: other, nonce: n2 } = await subscribed('8002', 'business');
    expect(
      (await send(subscriptionEvent('subscription_updated', n2, '8002', 'business', { updatedAt: 'x' })))
        .status,
    ).toBe(200);
    expect((await billing(other)).plan).toBe('business');
  });

  it('a forged or missing signature is 401 invalid_signature, changes nothing, and is audited', async () => {
    const victim = await signup(srv.baseUrl);
    const c = await checkout('business', victim);
    const body = orderEvent('order_created', c.nonce, 'ord_forged', 'business');
    const wrongKey = await sendBillingWebhook(srv.baseUrl, 'not-the-secret-at-all-000', body);
    const noSig = await sendBillingWebhook(srv.baseUrl, SECRET, body, '');
    const garbage = await sendBillingWebhook(srv.baseUrl, SECRET, body, 'zz'.repeat(32));
    for (const r of [wrongKey, noSig, garbage]) {
      expect(r.status).toBe(401);
      expect(r.body.error).toBe('invalid_signature');
    }
    // A valid signature over a different body does not carry over.
    const other = JSON.stringify(orderEvent('order_created', c.nonce, 'other', 'business'));
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
    expect((await send(orderEvent('order_created', credits.nonce, 'ord_c', 'credits_1000'))).status).toBe(
      200,
    );
    expect((await billing(acc)).messageCredits).toBe(1_000);
    const plan = await checkout('pro', acc);
    expect((await send(orderEvent('order_created', plan.nonce, 'ord_p', 'pro'))).status).toBe(200);
    const refund = await send(orderEvent('order_refunded', plan.nonce, 'ord_p', 'pro'));
    expect(refund.status, refund.text).toBe(200);
    expect((await billing(acc)).plan).toBe('free');
    const refundAgain = await send(orderEvent('order_refunded', plan.nonce, 'ord_p', 'pro'));
    expect(refundAgain.status).toBe(409);
    // A refund for a checkout that was never paid is a replay of nothing: refused.
    const unpaid = await checkout('pro', acc);
    expect((await send(orderEvent('order_refunded', unpaid.nonce, 'ord_x', 'pro'))).status).toBe(409);
    const unknown = await send(orderEvent('order_created', 'n'.repeat(32), 'ord_u', 'pro'));
    expect(unknown.status).toBe(400);
    const malformed = await send({ hello: 'world' });
    expect(malformed.status).toBe(400);
    const ignored = await send(orderEvent('customer_updated', unpaid.nonce, 'c1', 'pro'));
    expect(ignored.status).toBe(200);
    expect(ignored.body.outcome).toBe('ignored');
    expect(await billing(acc)).toMatchObject({ plan: 'free', messageCredits: 1_000 });
  });

  it('concurrent deliveries of one purchase apply it exactly once', async () => {
    const acc = await signup(srv.baseUrl);
    const c = await checkout('credits_1000', acc);
    const results = await Promise.all(
      Array.from({ length: 12 }, () =>
        send(orderEvent('order_created', c.nonce, 'ord_race', 'credits_1000')),
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
        { plan: 'pro' },
      );
      expect(r.status).toBe(503);
      const hook = await sendBillingWebhook(
        bare.baseUrl,
        SECRET,
        orderEvent('order_created', 'x'.repeat(32), 'o', 'pro'),
      );
      expect(hook.status).toBe(503);
    } finally {
      await bare.close();
    }
  });
});

describe('RAMPART_BILLING_PLANS is validated at start', () => {
  const ok = 'pro:variant=1:price=1900:currency=USD:checkout=https://pay.example.com/buy/a?x=1';
  it('parses each product: variant, price in minor units, currency, its own checkout URL', () => {
    expect(
      parseBillingPlans(`${ok}, business:variant=2:price=9900:currency=EUR:checkout=http://localhost/b`),
    ).toEqual({
      pro: { variant: '1', price: 1900, currency: 'USD', checkoutUrl: 'https://pay.example.com/buy/a?x=1' },
      business: { variant: '2', price: 9900, currency: 'EUR', checkoutUrl: 'http://localhost/b' },
    });
  });

  it.each([
    [
      'two products sharing one variant',
      `${ok},business:variant=1:price=9900:currency=USD:checkout=https://p/b`,
    ],
    ['a product listed twice', `${ok},${ok}`],
    ['no checkout URL', 'pro:variant=1:price=1900:currency=USD'],
    ['a non-numeric variant', 'pro:variant=abc:price=1900:currency=USD:checkout=https://p/a'],
    ['a price in dollars', 'pro:variant=1:price=19.00:currency=USD:checkout=https://p/a'],
    ['a zero price', 'pro:variant=1:price=0:currency=USD:checkout=https://p/a'],
    ['a bad currency', 'pro:variant=1:price=1900:currency=usd:checkout=https://p/a'],
    ['an unknown field', 'pro:variant=1:price=1900:currency=USD:plan=x:checkout=https://p/a'],
    ['a javascript: checkout URL', 'pro:variant=1:price=1900:currency=USD:checkout=javascript:alert(1)'],
    ['nothing', ' , '],
  ])('refuses %s', (_what, value) => {
    expect(() => parseBillingPlans(value)).toThrow();
    expect(() => loadConfig({ RAMPART_BILLING_PLANS: value })).toThrow(ConfigError);
  });

  it('refuses the old single RAMPART_BILLING_CHECKOUT_URL (one URL for every product was the bug)', () => {
    expect(() => loadConfig({ RAMPART_BILLING_CHECKOUT_URL: 'https://pay.example.com/buy/x' })).toThrow(
      /RAMPART_BILLING_CHECKOUT_URL: replaced by RAMPART_BILLING_PLANS/,
    );
  });

  it('refuses to start with a product the server does not sell', async () => {
    await expect(
      startTestServer('pglite', {
        RAMPART_BILLING_PLANS: 'platinum:variant=1:price=1:currency=USD:checkout=https://p/a',
      }),
    ).rejects.toThrow(/unknown product platinum/);
  });
});
