/**
 * Gateway fallback lists (issue 24 §3): for a model, the ordered providers a request tries, `{"<model>": ["a", "b"]}`.
 * An org holds one map (its settings) and an API key may hold its own (which wins for the models it names). Shared
 * here because the org settings (tenancy) and the API keys (identity) save them and the gateway reads them; the
 * check reads the org's provider rows with plain SQL, importing no domain.
 */
import { z } from 'zod';
import type { Queryable } from '../db/types.js';
import { AppError } from './errors.js';
import type { Region } from './params.js';

export type Fallbacks = Record<string, string[]>;

/** At most this many providers in one list, and this many models in one map. */
export const MAX_FALLBACK_PROVIDERS = 5;
export const MAX_FALLBACK_MODELS = 100;

export const fallbacks = z
  .record(
    z
      .string()
      .min(1)
      .max(200)
      .refine((k) => k !== '__proto__', 'Not a model name'),
    z
      .array(z.string().min(1).max(63))
      .min(1)
      .max(MAX_FALLBACK_PROVIDERS)
      .refine((l) => new Set(l).size === l.length, 'A provider is listed twice'),
  )
  .refine((m) => Object.keys(m).length <= MAX_FALLBACK_MODELS, `At most ${MAX_FALLBACK_MODELS} models`);

/**
 * Refuses a map naming a provider the org does not have, one outside `region` (the key's region, else the org's:
 * requests never leave it), one that does not list the model, or a list mixing wire formats (openai and anthropic
 * providers serve different routes). Run inside the transaction that saves the map.
 * @throws AppError validation_failed, naming the model and the provider
 */
export async function checkFallbacks(
  q: Queryable,
  orgId: string,
  region: Region,
  map: Fallbacks,
  owner: 'org' | 'key',
): Promise<void> {
  const models = Object.keys(map);
  if (!models.length) return;
  const { rows } = await q.query<{ name: string; kind: string; region: Region; models: string[] }>(
    'SELECT name, kind, region, models FROM llm_providers WHERE org_id = $1',
    [orgId],
  );
  const byName = new Map(rows.map((r) => [r.name, r]));
  const whose = owner === 'org' ? "this org's" : "this key's";
  for (const model of models) {
    const list = map[model] ?? [];
    const fail = (message: string, provider: string) => {
      throw new AppError('validation_failed', `fallbacks for ${model}: ${message}`, {
        details: { model, provider },
      });
    };
    let kind: string | undefined;
    for (const name of list) {
      const p = byName.get(name);
      if (!p) return fail(`no provider named ${name} in this org`, name);
      if (p.region !== region)
        return fail(
          `provider ${name} is in region ${p.region}, and ${whose} requests stay in region ${region}`,
          name,
        );
      if (!p.models.includes(model)) return fail(`provider ${name} does not list this model`, name);
      if (kind !== undefined && p.kind !== kind)
        return fail(
          `provider ${name} is of kind ${p.kind} but the list starts with kind ${kind}; one list serves one route`,
          name,
        );
      kind = p.kind;
    }
  }
}

/** The same lists for the same models (key order aside: jsonb does not keep it). */
export function sameFallbacks(a: Fallbacks, b: Fallbacks): boolean {
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((m) => {
    const x = a[m] ?? [];
    const y = Object.hasOwn(b, m) ? (b[m] ?? []) : null;
    return y !== null && x.length === y.length && x.every((p, i) => p === y[i]);
  });
}
