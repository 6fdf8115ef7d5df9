/**
 * What a gateway call costs: USD per million input (prompt) and output (completion) tokens, per model.
 *
 * A provider's own `prices` map (PUT /api/orgs/:orgId/providers/:name) wins; else {@link DEFAULT_PRICES}, by exact
 * model id, then by the longest default id the model extends with a dash (`gpt-4o-2024-08-06` → `gpt-4o`).
 * A model found nowhere has no price (null): such calls cost 0, and a call under a spend budget is refused
 * (see limits.ts), since a budget that cannot count a model could not bound it.
 */
export interface Price {
  /** USD per million prompt tokens (= micro-USD per token). */
  input: number;
  /** USD per million completion tokens. */
  output: number;
}

export type PriceTable = Readonly<Record<string, Price>>;

/**
 * List prices of well-known models (standard tier, no batch or cache discounts), USD per million tokens, as the
 * providers published them on openai.com/api/pricing and anthropic.com/pricing in mid-2025 (last checked for
 * this table: 2025-06). Where a model's price was cut during 2025 the higher one is kept (conservative: a budget
 * stops early rather than late). Prices change: set the ones you pay on the provider.
 */
export const DEFAULT_PRICES: PriceTable = {
  'gpt-4o': { input: 2.5, output: 10 },
  'gpt-4o-mini': { input: 0.15, output: 0.6 },
  'gpt-4.1': { input: 2, output: 8 },
  'gpt-4.1-mini': { input: 0.4, output: 1.6 },
  'gpt-4.1-nano': { input: 0.1, output: 0.4 },
  'gpt-4-turbo': { input: 10, output: 30 },
  'gpt-4': { input: 30, output: 60 },
  'gpt-3.5-turbo': { input: 0.5, output: 1.5 },
  o1: { input: 15, output: 60 },
  'o1-mini': { input: 1.1, output: 4.4 },
  o3: { input: 10, output: 40 },
  'o3-mini': { input: 1.1, output: 4.4 },
  'o4-mini': { input: 1.1, output: 4.4 },
  'text-embedding-3-small': { input: 0.02, output: 0 },
  'text-embedding-3-large': { input: 0.13, output: 0 },
  'text-embedding-ada-002': { input: 0.1, output: 0 },
  'claude-opus-4': { input: 15, output: 75 },
  'claude-sonnet-4': { input: 3, output: 15 },
  'claude-3-7-sonnet': { input: 3, output: 15 },
  'claude-3-5-sonnet': { input: 3, output: 15 },
  'claude-3-5-haiku': { input: 0.8, output: 4 },
  'claude-3-opus': { input: 15, output: 75 },
  'claude-3-haiku': { input: 0.25, output: 1.25 },
};

/** The price of `model` under a provider's own table, else the defaults; null when neither knows it. */
export function priceOf(model: string, own: PriceTable | undefined): Price | null {
  const mine = own && Object.hasOwn(own, model) ? own[model] : undefined;
  if (mine) return mine;
  if (Object.hasOwn(DEFAULT_PRICES, model)) return DEFAULT_PRICES[model] as Price;
  let best: string | null = null;
  for (const id of Object.keys(DEFAULT_PRICES))
    if (model.startsWith(`${id}-`) && (best === null || id.length > best.length)) best = id;
  return best === null ? null : (DEFAULT_PRICES[best] as Price);
}

/** Micro-USD for the tokens given, rounded up (a call never costs less than its tokens' price). */
export function costMicros(price: Price | null, promptTokens: number, completionTokens: number): number {
  if (!price) return 0;
  // Less a hair of float noise, so 10 × 0.1 is 1, not 2.
  return Math.ceil(promptTokens * price.input + completionTokens * price.output - 1e-9);
}
