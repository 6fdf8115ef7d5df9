/**
 * `RAMPART_BILLING_PLANS`: what each product is at the payment provider, so a webhook is applied only when what
 * was paid is what the checkout nonce names. Format (one entry per product, comma-separated; within an entry,
 * colon-separated `key=value` fields after the product name; `checkout=` comes last and takes the rest):
 *
 *   pro:variant=123:price=1900:currency=USD:checkout=https://store.lemonsqueezy.com/checkout/buy/aaa,
 *   business:variant=456:price=9900:currency=USD:checkout=https://store.lemonsqueezy.com/checkout/buy/bbb
 *
 * `variant` is the provider's variant id (digits), `price` the product's price in minor units (cents) as the
 * provider reports it in `subtotal`, `currency` an ISO 4217 code, `checkout` that product's own hosted checkout
 * URL (http or https; a comma in it must be percent-encoded). Product names are checked against the products the server sells when the billing routes
 * are registered. Kept in platform/ (no feature import) so the config loader can validate the shape at start.
 */
export interface BillingProductConfig {
  variant: string;
  price: number;
  currency: string;
  checkoutUrl: string;
}

const NAME = /^[a-z][a-z0-9_]{0,49}$/;
const VARIANT = /^[0-9]{1,20}$/;
const CURRENCY = /^[A-Z]{3}$/;

/**
 * Parses the variable. Messages name the entry and the field, never echo a value.
 * @throws Error with a message fit for ConfigError
 */
export function parseBillingPlans(text: string): Record<string, BillingProductConfig> {
  const out: Record<string, BillingProductConfig> = Object.create(null);
  const variants = new Set<string>();
  const entries = text
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
  if (entries.length === 0) throw new Error('no product entries');
  entries.forEach((entry, i) => {
    const where = `entry ${i + 1}`;
    const cut = entry.indexOf(':checkout=');
    if (cut < 0) throw new Error(`${where}: checkout= is required (last field)`);
    const checkout = entry.slice(cut + ':checkout='.length);
    const [name, ...fields] = entry.slice(0, cut).split(':');
    if (!name || !NAME.test(name)) throw new Error(`${where}: the product name must match ${NAME}`);
    if (Object.hasOwn(out, name)) throw new Error(`${where}: product ${name} is listed twice`);
    const kv: Record<string, string> = Object.create(null);
    for (const f of fields) {
      const eq = f.indexOf('=');
      const key = eq < 0 ? f : f.slice(0, eq);
      if (eq < 0 || !['variant', 'price', 'currency'].includes(key))
        throw new Error(`${where} (${name}): unknown field; expected variant=, price=, currency=, checkout=`);
      if (Object.hasOwn(kv, key)) throw new Error(`${where} (${name}): ${key}= given twice`);
      kv[key] = f.slice(eq + 1);
    }
    const variant = kv.variant ?? '';
    if (!VARIANT.test(variant))
      throw new Error(`${where} (${name}): variant= must be the provider's numeric id`);
    if (variants.has(variant))
      throw new Error(`${where} (${name}): variant is already another product's; each product needs its own`);
    variants.add(variant);
    const price = Number(kv.price);
    if (!/^[0-9]{1,12}$/.test(kv.price ?? '') || !Number.isSafeInteger(price) || price < 1)
      throw new Error(`${where} (${name}): price= must be a whole number of minor units (cents), at least 1`);
    const currency = kv.currency ?? '';
    if (!CURRENCY.test(currency)) throw new Error(`${where} (${name}): currency= must be an ISO 4217 code`);
    let url: URL;
    try {
      url = new URL(checkout);
    } catch {
      throw new Error(`${where} (${name}): checkout= must be a URL`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:')
      throw new Error(`${where} (${name}): checkout= must be an http(s) URL`);
    out[name] = { variant, price, currency, checkoutUrl: url.toString() };
  });
  return out;
}
