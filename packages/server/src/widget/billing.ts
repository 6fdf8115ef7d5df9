import { createHash, randomBytes } from 'node:crypto';
import type { Database } from '../db/database.js';
import type { Queryable } from '../db/types.js';
import { type AuditActor, appendAudit } from '../platform/audit/append.js';
import { PRODUCTS, type Product } from './plans.js';
import { billingRow } from './quota.js';

/**
 * Billing with a hosted checkout (Lemon Squeezy-style). Checkout mints a one-time nonce bound to the org and
 * the product; the provider echoes it back in the webhook as `meta.custom_data.nonce`. The webhook is trusted
 * only after (1) its HMAC-SHA256 over the raw body verifies in constant time and (2) the nonce is consumed
 * compare-and-set in the same transaction that applies the change, so a replay or a forgery changes nothing.
 */
const NONCE_TTL_MS = 24 * 60 * 60 * 1000;
export const nonceHash = (nonce: string): string => createHash('sha256').update(nonce).digest('hex');

export async function createCheckout(
  q: Queryable,
  actor: AuditActor,
  orgId: string,
  product: Product,
  checkoutBase: string,
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
  const url = new URL(checkoutBase);
  url.searchParams.set('checkout[custom][nonce]', nonce);
  url.searchParams.set('checkout[custom][product]', product);
  return { nonce, checkoutUrl: url.toString() };
}

/** The provider event, validated. */
export interface BillingEvent {
  name: string;
  nonce: string;
  /** The provider's id of the order or subscription the event is about. */
  objectId: string;
}

const PURCHASES = new Set(['order_created', 'subscription_created']);
const REFUNDS = new Set(['order_refunded', 'subscription_expired']);

export type WebhookOutcome =
  | { status: 'applied'; orgId: string; change: string }
  | { status: 'ignored' }
  | { status: 'replayed'; orgId: string | null }
  | { status: 'unknown_nonce' };

/**
 * Applies a verified event. Purchases consume the nonce (UPDATE ... WHERE consumed_at IS NULL AND not expired)
 * and change the plan or add credits in the same transaction; refunds need a nonce that was consumed and are
 * de-duplicated by (event, object id). Every outcome other than `ignored` is audited in the org's chain.
 */
export async function applyBillingEvent(
  db: Database,
  actor: AuditActor,
  ev: BillingEvent,
  now: Date,
): Promise<WebhookOutcome> {
  if (!PURCHASES.has(ev.name) && !REFUNDS.has(ev.name)) return { status: 'ignored' };
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
  const product = PRODUCTS[found.product as Product];
  if (!product) return { status: 'unknown_nonce' };
  return db.org(orgId, async (q) => {
    const replayed = async (): Promise<WebhookOutcome> => {
      await appendAudit(q, actor, {
        orgId,
        action: 'billing.webhook_replayed',
        target: `org:${orgId}`,
        meta: { event: ev.name, objectId: ev.objectId },
      });
      return { status: 'replayed', orgId };
    };
    const seen = await q.query(
      'INSERT INTO billing_events (event_key, org_id) VALUES ($1, $2) ON CONFLICT (event_key) DO NOTHING',
      [`${ev.name}:${ev.objectId}`.slice(0, 300), orgId],
    );
    if (seen.rowCount === 0) return replayed();
    const b = await billingRow(q, orgId);
    let change: string;
    if (PURCHASES.has(ev.name)) {
      const consumed = await q.query(
        'UPDATE billing_nonces SET consumed_at = $2 WHERE nonce_hash = $1 AND consumed_at IS NULL AND expires_at > $2',
        [hash, now],
      );
      if (consumed.rowCount === 0) return replayed();
      if (product.kind === 'plan') {
        await q.query('UPDATE org_billing SET plan = $2, updated_at = now() WHERE org_id = $1', [
          orgId,
          product.plan,
        ]);
        change = `plan ${b.plan} -> ${product.plan}`;
      } else {
        await q.query(
          'UPDATE org_billing SET message_credits = message_credits + $2, updated_at = now() WHERE org_id = $1',
          [orgId, product.credits],
        );
        change = `credits +${product.credits}`;
      }
    } else {
      if (!found.consumed) return replayed();
      if (product.kind === 'plan') {
        await q.query(`UPDATE org_billing SET plan = 'free', updated_at = now() WHERE org_id = $1`, [orgId]);
        change = `plan ${b.plan} -> free (refund)`;
      } else {
        await q.query(
          'UPDATE org_billing SET message_credits = GREATEST(0, message_credits - $2), updated_at = now() WHERE org_id = $1',
          [orgId, product.credits],
        );
        change = `credits -${product.credits} (refund)`;
      }
    }
    await appendAudit(q, actor, {
      orgId,
      action: 'billing.event_applied',
      target: `org:${orgId}`,
      meta: { event: ev.name, objectId: ev.objectId, change },
    });
    return { status: 'applied', orgId, change };
  });
}
