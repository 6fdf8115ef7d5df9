import { randomBytes } from 'node:crypto';
import type { Database } from '../db/database.js';
import type { Queryable } from '../db/types.js';
import { type AuditActor, appendAudit } from '../platform/audit/append.js';
import type { BillingProductConfig } from '../platform/billing-config.js';
import { hashSecret } from '../platform/hash.js';
import { isProduct, PRODUCTS, type Product } from './plans.js';
import { billingRow } from './quota.js';

/**
 * Billing with a hosted checkout (Lemon Squeezy-style). Checkout mints a one-time nonce bound to the org and
 * the product, into that product's own checkout URL; the provider echoes it back in the webhook as
 * `meta.custom_data.nonce`, and the event is applied only when its variant and amount are that product's. The webhook is trusted
 * only after (1) its HMAC-SHA256 over the raw body verifies in constant time and (2) the nonce is consumed
 * compare-and-set in the same transaction that applies the change, so a replay or a forgery changes nothing.
 */
const NONCE_TTL_MS = 24 * 60 * 60 * 1000;
export const nonceHash = (nonce: string): string => hashSecret('billing-nonce', nonce);

export async function createCheckout(
  q: Queryable,
  actor: AuditActor,
  orgId: string,
  product: Product,
  checkoutUrl: string,
  now: Date,
): Promise<{ nonce: string; checkoutUrl: string }> {
  const nonce = randomBytes(24).toString('base64url');
  await q.query(
    'INSERT INTO billing_nonces (nonce_hash, org_id, product, expires_at) VALUES ($1, $2, $3, $4)',
    [nonceHash(nonce), orgId, product, new Date(now.getTime() + NONCE_TTL_MS)],
  );
  await appendAudit(q, actor, {
    orgId,
    action: 'billing.checkout_started',
    target: `org:${orgId}`,
    meta: { product },
  });
  const url = new URL(checkoutUrl);
  url.searchParams.set('checkout[custom][nonce]', nonce);
  url.searchParams.set('checkout[custom][product]', product);
  return { nonce, checkoutUrl: url.toString() };
}

/** The provider event (Lemon Squeezy webhook), validated, with the fields the rules below read. */
export interface BillingEvent {
  name: string;
  nonce: string;
  /** `data.id`: the order, subscription or subscription invoice the event is about. */
  objectId: string;
  /** `data.attributes.status` (orders, invoices: `paid`; subscriptions: `active`, `cancelled`...). */
  status: string | null;
  /** `data.attributes.variant_id` (subscriptions) or `data.attributes.first_order_item.variant_id` (orders). */
  variantId: string | null;
  /** `data.attributes.subtotal`: minor units, before tax and discounts (orders and invoices). */
  amount: number | null;
  currency: string | null;
  /** Subscriptions: `data.id`; invoices: `data.attributes.subscription_id`. */
  subscriptionId: string | null;
  /** Invoices: `initial`, `renewal` or `updated`. */
  billingReason: string | null;
  /** Subscriptions: when a cancelled subscription's paid period ends. */
  endsAt: Date | null;
  /** Subscriptions: `updated_at`, so successive updates of one subscription are told apart from replays. */
  updatedAt: string | null;
}

/** Each product's provider variant, price and currency (RAMPART_BILLING_PLANS). */
export type ProductConfigs = Readonly<Record<string, BillingProductConfig>> | undefined;

const SUBSCRIPTION_EVENTS = new Set([
  'subscription_created',
  'subscription_updated',
  'subscription_cancelled',
  'subscription_resumed',
  'subscription_expired',
]);
const INVOICE_EVENTS = new Set([
  'subscription_payment_success',
  'subscription_payment_recovered',
  'subscription_payment_failed',
]);
const ORDER_EVENTS = new Set(['order_created', 'order_refunded']);

export type MismatchReason =
  | 'not_configured'
  | 'variant_mismatch'
  | 'amount_mismatch'
  | 'currency_mismatch'
  | 'not_paid'
  | 'not_a_subscription'
  | 'subscription_mismatch';

export type WebhookOutcome =
  | { status: 'applied'; orgId: string; change: string }
  | { status: 'ignored' }
  | { status: 'replayed'; orgId: string | null }
  | { status: 'unknown_nonce' }
  | { status: 'mismatch'; orgId: string; reason: MismatchReason };

/**
 * Applies a verified event, only when what the provider reports matches what the nonce's product is configured
 * to be (variant, price, currency): a "business" nonce paid through the "pro" product changes nothing.
 *
 * - `order_created` (paid, matching variant and subtotal): consumes the nonce (compare-and-set) and grants the
 *   plan or adds the credits. The only event that grants.
 * - `subscription_created` (matching variant): links the provider's subscription to the purchase; later
 *   subscription events must name that subscription (invoices carry no variant, so the link is what binds them).
 * - `subscription_payment_success` / `_recovered` (renewal, matching amount): the plan stays or comes back.
 * - `subscription_payment_failed`: the plan stays for RAMPART_BILLING_GRACE_DAYS, then lapses to free.
 * - `subscription_cancelled`: the plan lapses at `ends_at`; `subscription_resumed` undoes that;
 *   `subscription_expired` and `order_refunded` end it at once (credits are taken back).
 * - `subscription_updated` to another variant (a plan switch at the provider): the plan lapses at once.
 *
 * Every event is de-duplicated by (event, object id[, updated_at]). Outcomes other than `ignored` and
 * `unknown_nonce` are audited in the org's chain.
 */
export async function applyBillingEvent(
  db: Database,
  actor: AuditActor,
  ev: BillingEvent,
  now: Date,
  opts: { products: ProductConfigs; graceDays: number },
): Promise<WebhookOutcome> {
  const kind = ORDER_EVENTS.has(ev.name)
    ? 'order'
    : SUBSCRIPTION_EVENTS.has(ev.name)
      ? 'subscription'
      : INVOICE_EVENTS.has(ev.name)
        ? 'invoice'
        : null;
  if (!kind) return { status: 'ignored' };
  // The initial invoice pays for what order_created already granted.
  if (kind === 'invoice' && ev.name !== 'subscription_payment_failed' && ev.billingReason === 'initial')
    return { status: 'ignored' };
  const hash = nonceHash(ev.nonce);
  const { rows } = await db.tx({ orgId: null }, (q) =>
    q.query<{ org_id: string; product: string; consumed: boolean }>(
      'SELECT org_id::text AS org_id, product, consumed FROM rampart_billing_nonce_org($1)',
      [hash],
    ),
  );
  const found = rows[0];
  if (!found) return { status: 'unknown_nonce' };
  const orgId = found.org_id;
  const product = isProduct(found.product) ? PRODUCTS[found.product] : undefined;
  if (!product) return { status: 'unknown_nonce' };
  const cfg = opts.products?.[found.product];

  return db.org(orgId, async (q) => {
    const audit = (action: string, meta: Record<string, unknown>) =>
      appendAudit(q, actor, { orgId, action, target: `org:${orgId}`, meta: { event: ev.name, ...meta } });
    const refuse = async (reason: MismatchReason, meta: Record<string, unknown> = {}) => {
      await audit('billing.webhook_rejected', {
        reason,
        objectId: ev.objectId,
        product: found.product,
        ...meta,
      });
      return { status: 'mismatch' as const, orgId, reason };
    };
    const replayed = async (): Promise<WebhookOutcome> => {
      await audit('billing.webhook_replayed', { objectId: ev.objectId });
      return { status: 'replayed', orgId };
    };

    // 1. What was paid for must be what the nonce names.
    if (!cfg) return refuse('not_configured');
    // A subscription switched to another variant at the provider is handled below (the plan lapses).
    if (kind !== 'invoice' && ev.name !== 'subscription_updated' && ev.variantId !== cfg.variant)
      return refuse('variant_mismatch', { expectedVariant: cfg.variant, variant: ev.variantId });
    const paid =
      ev.name === 'order_created' ||
      ev.name === 'subscription_payment_success' ||
      ev.name === 'subscription_payment_recovered';
    if (paid) {
      if (ev.status !== 'paid') return refuse('not_paid', { paymentStatus: ev.status });
      if (ev.currency !== cfg.currency)
        return refuse('currency_mismatch', { expectedCurrency: cfg.currency, currency: ev.currency });
      if (ev.amount !== cfg.price)
        return refuse('amount_mismatch', { expectedAmount: cfg.price, amount: ev.amount });
    }
    if (kind !== 'order' && product.kind !== 'plan') return refuse('not_a_subscription');
    const { rows: linked } = await q.query<{ subscription_id: string | null }>(
      'SELECT subscription_id FROM billing_nonces WHERE nonce_hash = $1 FOR UPDATE',
      [hash],
    );
    const linkedSub = linked[0]?.subscription_id ?? null;
    if (
      kind !== 'order' &&
      ev.name !== 'subscription_created' &&
      (linkedSub === null || ev.subscriptionId !== linkedSub)
    )
      return refuse('subscription_mismatch');
    if (ev.name === 'subscription_created' && linkedSub !== null && linkedSub !== ev.subscriptionId)
      return refuse('subscription_mismatch');

    // 2. Each delivery once.
    const key =
      kind === 'subscription'
        ? `${ev.name}:${ev.objectId}:${ev.updatedAt ?? ''}`
        : `${ev.name}:${ev.objectId}`;
    const seen = await q.query(
      'INSERT INTO billing_events (event_key, org_id) VALUES ($1, $2) ON CONFLICT (event_key) DO NOTHING',
      [key.slice(0, 300), orgId],
    );
    if (seen.rowCount === 0) return replayed();

    // 3. The change.
    const b = await billingRow(q, orgId);
    const { rows: stored } = await q.query<{ plan: string }>(
      'SELECT plan FROM org_billing WHERE org_id = $1',
      [orgId],
    );
    /** Downgrades touch the plan only while it is still the one this purchase bought. */
    const holdsPlan = product.kind === 'plan' && stored[0]?.plan === product.plan;
    const setUntil = (until: Date | null) =>
      q.query('UPDATE org_billing SET plan_until = $2, updated_at = now() WHERE org_id = $1', [orgId, until]);
    let change: string;
    switch (ev.name) {
      case 'order_created': {
        const consumed = await q.query(
          'UPDATE billing_nonces SET consumed_at = $2 WHERE nonce_hash = $1 AND consumed_at IS NULL AND expires_at > $2',
          [hash, now],
        );
        if (consumed.rowCount === 0) return replayed();
        if (product.kind === 'plan') {
          await q.query(
            'UPDATE org_billing SET plan = $2, plan_until = NULL, updated_at = now() WHERE org_id = $1',
            [orgId, product.plan],
          );
          change = `plan ${b.plan} -> ${product.plan}`;
        } else {
          await q.query(
            'UPDATE org_billing SET message_credits = message_credits + $2, updated_at = now() WHERE org_id = $1',
            [orgId, product.credits],
          );
          change = `credits +${product.credits}`;
        }
        break;
      }
      case 'subscription_created':
        await q.query('UPDATE billing_nonces SET subscription_id = $2 WHERE nonce_hash = $1', [
          hash,
          ev.subscriptionId,
        ]);
        change = 'subscription linked';
        break;
      case 'subscription_payment_success':
      case 'subscription_payment_recovered':
        if (!found.consumed || product.kind !== 'plan') return replayed();
        await q.query(
          'UPDATE org_billing SET plan = $2, plan_until = NULL, updated_at = now() WHERE org_id = $1',
          [orgId, product.plan],
        );
        change = `renewed: plan ${b.plan} -> ${product.plan}`;
        break;
      case 'subscription_payment_failed': {
        if (!holdsPlan) {
          change = 'none (the plan was already changed)';
          break;
        }
        const grace = new Date(now.getTime() + opts.graceDays * 86_400_000);
        await q.query(
          'UPDATE org_billing SET plan_until = LEAST(coalesce(plan_until, $2), $2), updated_at = now() WHERE org_id = $1',
          [orgId, grace],
        );
        change = `payment failed: plan ${b.plan} until ${grace.toISOString()}, then free`;
        break;
      }
      case 'subscription_cancelled': {
        const ends = ev.endsAt && ev.endsAt > now ? ev.endsAt : now;
        if (holdsPlan) await setUntil(ends);
        change = `cancelled: plan ${b.plan} until ${ends.toISOString()}, then free`;
        break;
      }
      case 'subscription_resumed':
        if (holdsPlan) await setUntil(null);
        change = 'resumed';
        break;
      case 'subscription_updated':
        // Same variant: nothing to do (status changes arrive as their own events). Another variant is a plan
        // switch at the provider, to a product this purchase did not pay for: the plan lapses now; a new
        // checkout buys the other plan.
        if (ev.variantId === cfg.variant) change = 'none';
        else {
          if (holdsPlan) await setUntil(now);
          change = `variant changed at the provider: plan ${b.plan} -> free`;
        }
        break;
      default: {
        // order_refunded, subscription_expired: the purchase ends now.
        if (!found.consumed) return replayed();
        if (product.kind === 'plan') {
          if (holdsPlan)
            await q.query(
              `UPDATE org_billing SET plan = 'free', plan_until = NULL, updated_at = now() WHERE org_id = $1`,
              [orgId],
            );
          change = `plan ${b.plan} -> free (${ev.name === 'order_refunded' ? 'refund' : 'expired'})`;
        } else {
          await q.query(
            'UPDATE org_billing SET message_credits = GREATEST(0, message_credits - $2), updated_at = now() WHERE org_id = $1',
            [orgId, product.credits],
          );
          change = `credits -${product.credits} (refund)`;
        }
      }
    }
    await audit('billing.event_applied', { objectId: ev.objectId, change });
    return { status: 'applied', orgId, change };
  });
}
