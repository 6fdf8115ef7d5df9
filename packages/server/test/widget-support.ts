import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { signHmacHex } from '@rampart/core/webhooks';
import { type Account, type ApiResponse, api } from '@rampart/testing';

export interface ModelCall {
  headers: IncomingHttpHeaders;
  body: { model: string; messages: Array<{ role: string; content: string }> };
}

/** A local stand-in for an OpenAI-compatible provider: records each chat call, answers "Answer N". */
export async function startModelStub(): Promise<{
  origin: string;
  calls: ModelCall[];
  close(): Promise<void>;
}> {
  const calls: ModelCall[] = [];
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => {
      raw += c;
    });
    req.on('end', () => {
      const body = JSON.parse(raw) as ModelCall['body'];
      calls.push({ headers: req.headers, body });
      const delay = body.model === 'slow-model' ? 3_000 : 0;
      setTimeout(() => {
        if (res.destroyed) return;
        if (body.model === 'broken-model') {
          res.writeHead(500, { 'content-type': 'application/json' });
          res.end('{"error":{"message":"boom"}}');
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            id: 'c1',
            object: 'chat.completion',
            created: 1,
            model: body.model,
            choices: [
              {
                index: 0,
                message: { role: 'assistant', content: `Answer ${calls.length}` },
                finish_reason: 'stop',
              },
            ],
            usage: { prompt_tokens: 10, completion_tokens: 2, total_tokens: 12 },
          }),
        );
      }, delay);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    calls,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Registers the stub as the org's provider for `models`. */
export async function useStubProvider(baseUrl: string, owner: Account, stubOrigin: string, models: string[]) {
  const r = await api(baseUrl, owner.token).put(`/api/orgs/${owner.orgId}/providers/stub`, {
    baseUrl: `${stubOrigin}/v1`,
    apiKey: 'sk-stub-provider-key-000000',
    models,
  });
  if (r.status !== 200) throw new Error(`provider setup failed: ${r.status} ${r.text}`);
}

/** A visitor's browser on `origin`, talking to one widget from client IP `ip` (via a trusted proxy). */
export function visitor(baseUrl: string, widgetId: string, origin: string, ip = '198.51.100.7') {
  const headers = (extra: Record<string, string> = {}) => ({ origin, 'x-forwarded-for': ip, ...extra });
  return {
    session: () =>
      api(baseUrl).request<{ visitorToken: string; expiresAt: string }>(
        'POST',
        `/widget/${widgetId}/session`,
        undefined,
        headers(),
      ),
    message: (token: string, message: string): Promise<ApiResponse<{ reply: string; error?: string }>> =>
      api(baseUrl, token).request('POST', `/widget/${widgetId}/messages`, { message }, headers()),
  };
}

/** Sends a billing webhook the way the provider does: raw JSON body, hex HMAC-SHA256 in x-signature. */
export async function sendBillingWebhook(
  baseUrl: string,
  secret: string,
  event: unknown,
  signature?: string,
) {
  const body = JSON.stringify(event);
  const res = await fetch(`${baseUrl}/webhooks/billing`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-signature': signature ?? signHmacHex(secret, body) },
    body,
  });
  const text = await res.text();
  return {
    status: res.status,
    body: (text ? JSON.parse(text) : {}) as { error?: string; outcome?: string },
    text,
  };
}

/** What each product is at the (stand-in) payment provider: RAMPART_BILLING_PLANS for the billing tests. */
export const TEST_PRODUCTS = {
  pro: { variant: '1001', price: 1900, currency: 'USD', checkout: 'https://pay.example.com/buy/rampart-pro' },
  business: {
    variant: '1002',
    price: 9900,
    currency: 'USD',
    checkout: 'https://pay.example.com/buy/rampart-business',
  },
  credits_1000: {
    variant: '1003',
    price: 1000,
    currency: 'USD',
    checkout: 'https://pay.example.com/buy/rampart-credits',
  },
} as const;
export type TestProduct = keyof typeof TEST_PRODUCTS;

export const TEST_BILLING_PLANS = Object.entries(TEST_PRODUCTS)
  .map(
    ([name, p]) =>
      `${name}:variant=${p.variant}:price=${p.price}:currency=${p.currency}:checkout=${p.checkout}`,
  )
  .join(',');

/**
 * A Lemon Squeezy `order_created` / `order_refunded` event (JSON:API `orders` object) for a product, with the
 * fields a real one carries; `over` replaces any attribute (a forged variant, another amount...).
 */
export function orderEvent(
  name: string,
  nonce: string,
  orderId: string,
  product: TestProduct,
  over: { variant?: string | number; subtotal?: number; currency?: string; status?: string } = {},
) {
  const p = TEST_PRODUCTS[product];
  const subtotal = over.subtotal ?? p.price;
  return {
    meta: { event_name: name, custom_data: { nonce } },
    data: {
      type: 'orders',
      id: orderId,
      attributes: {
        store_id: 1,
        currency: over.currency ?? p.currency,
        status: over.status ?? 'paid',
        subtotal,
        discount_total: 0,
        tax: 0,
        total: subtotal,
        first_order_item: {
          order_id: Number(orderId.replace(/\D/g, '') || 1),
          variant_id: Number(over.variant ?? p.variant),
          price: subtotal,
          quantity: 1,
        },
      },
    },
  };
}

/** A Lemon Squeezy subscription event (`subscriptions` object); `data.id` is the subscription id. */
export function subscriptionEvent(
  name: string,
  nonce: string,
  subscriptionId: string,
  product: TestProduct,
  over: { variant?: string | number; status?: string; endsAt?: string | null; updatedAt?: string } = {},
) {
  return {
    meta: { event_name: name, custom_data: { nonce } },
    data: {
      type: 'subscriptions',
      id: subscriptionId,
      attributes: {
        store_id: 1,
        variant_id: Number(over.variant ?? TEST_PRODUCTS[product].variant),
        status: over.status ?? 'active',
        cancelled: name === 'subscription_cancelled',
        ends_at: over.endsAt ?? null,
        renews_at: new Date(Date.now() + 30 * 86_400_000).toISOString(),
        updated_at: over.updatedAt ?? new Date().toISOString(),
      },
    },
  };
}

/** A Lemon Squeezy subscription invoice event (`subscription-invoices`): renewals and failed payments. */
export function invoiceEvent(
  name: string,
  nonce: string,
  invoiceId: string,
  subscriptionId: string,
  product: TestProduct,
  over: { subtotal?: number; currency?: string; status?: string; billingReason?: string } = {},
) {
  const p = TEST_PRODUCTS[product];
  const subtotal = over.subtotal ?? p.price;
  return {
    meta: { event_name: name, custom_data: { nonce } },
    data: {
      type: 'subscription-invoices',
      id: invoiceId,
      attributes: {
        store_id: 1,
        subscription_id: Number(subscriptionId),
        billing_reason: over.billingReason ?? 'renewal',
        currency: over.currency ?? p.currency,
        status: over.status ?? (name === 'subscription_payment_failed' ? 'pending' : 'paid'),
        subtotal,
        total: subtotal,
      },
    },
  };
}
