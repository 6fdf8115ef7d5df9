/** Plans and what each allows. Limits live in code (reviewed like code); the org's plan lives in org_billing. */
export const PLANS = {
  free: { widgets: 1, monthlyMessages: 100, knowledgeBytes: 1_000_000 },
  pro: { widgets: 10, monthlyMessages: 10_000, knowledgeBytes: 50_000_000 },
  business: { widgets: 100, monthlyMessages: 200_000, knowledgeBytes: 1_000_000_000 },
} as const;
export type Plan = keyof typeof PLANS;
export type Limits = (typeof PLANS)[Plan];

/** What a checkout can buy: a plan, or a pack of message credits (used once the month's allowance is spent). */
export const PRODUCTS = {
  pro: { kind: 'plan', plan: 'pro' },
  business: { kind: 'plan', plan: 'business' },
  credits_1000: { kind: 'credits', credits: 1_000 },
} as const;
export type Product = keyof typeof PRODUCTS;

export const isProduct = (s: string): s is Product => Object.hasOwn(PRODUCTS, s);

/** The usage period of `now`: its calendar month in UTC, as a date string. */
export const periodOf = (now: Date): string =>
  `${now.getUTCFullYear()}-${String(now.getUTCMonth() + 1).padStart(2, '0')}-01`;
