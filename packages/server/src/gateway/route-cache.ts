import type { Queryable } from '../db/types.js';
import type { Fallbacks } from '../platform/fallbacks.js';
import { TtlCache } from '../platform/ttl-cache.js';
import type { ProviderKind, Region } from './providers.js';

/** An org's routing data as stored: settings plus provider rows with their keys still sealed. */
export interface OrgRouting {
  piiRedaction: boolean;
  redactionMode: 'mask' | 'reversible';
  redactCompletions: boolean;
  region: Region;
  /** The org's ordered providers per model (issue 24 §3); a model without a list goes to its one provider. */
  fallbacks: ReadonlyMap<string, readonly string[]>;
  /** API keys' own lists, by key id (only keys that have one). */
  keyFallbacks: ReadonlyMap<string, ReadonlyMap<string, readonly string[]>>;
  providers: Array<{
    id: string;
    name: string;
    kind: ProviderKind;
    baseUrl: string;
    apiKeySealed: string;
    region: Region;
    models: ReadonlySet<string>;
    reasoningModels: ReadonlySet<string>;
  }>;
}

/**
 * Per-node cache of each org's routing data, so a gateway call costs no database round trip. Entries live
 * 5 s at most and are dropped when providers or settings change: at once on this node, on the node bus message
 * on the others (platform/invalidation.ts), within 5 s if that message is lost (the bound API keys have too). Only sealed keys are cached: the
 * plaintext is opened per call and exists only for the outbound request.
 */
export class RoutingCache {
  readonly #cache = new TtlCache<OrgRouting>(5_000, 10_000);

  /** The cached routing data, or `load()`'s (null when the org does not exist; not cached). */
  async get(orgId: string, load: () => Promise<OrgRouting | null>): Promise<OrgRouting | null> {
    const hit = this.#cache.get(orgId);
    if (hit) return hit;
    // Not cached when the org was invalidated while loading (the load may predate the change).
    const generation = this.#cache.generation;
    const fresh = await load();
    if (fresh) this.#cache.setIfUnchanged(orgId, fresh, generation);
    return fresh;
  }

  set(orgId: string, value: OrgRouting): void {
    this.#cache.set(orgId, value);
  }

  peek(orgId: string): OrgRouting | undefined {
    return this.#cache.get(orgId);
  }

  invalidate(orgId: string): void {
    this.#cache.delete(orgId);
  }

  clear(): void {
    this.#cache.clear();
  }
}

/** Loads an org's routing data inside an org transaction. */
export async function loadRouting(q: Queryable, orgId: string): Promise<OrgRouting | null> {
  const { rows } = await q.query<{
    pii_redaction: boolean;
    redaction_mode: 'mask' | 'reversible';
    redact_completions: boolean;
    org_region: Region;
    fallbacks: Fallbacks;
    id: string | null;
    name: string;
    kind: ProviderKind;
    base_url: string;
    api_key_sealed: string;
    region: Region;
    models: string[];
    reasoning_models: string[];
  }>(
    `SELECT o.pii_redaction, o.redaction_mode, o.redact_completions, o.region AS org_region, o.fallbacks, p.id, p.name,
            p.kind, p.base_url, p.api_key_sealed, p.region, p.models, p.reasoning_models
       FROM orgs o LEFT JOIN llm_providers p ON p.org_id = o.id
      WHERE o.id = $1 ORDER BY p.name`,
    [orgId],
  );
  const first = rows[0];
  if (!first) return null;
  const keys = await q.query<{ id: string; fallbacks: Fallbacks }>(
    `SELECT id, fallbacks FROM api_keys WHERE org_id = $1 AND revoked_at IS NULL AND fallbacks <> '{}'::jsonb`,
    [orgId],
  );
  const lists = (m: Fallbacks) => new Map(Object.entries(m));
  return {
    piiRedaction: first.pii_redaction,
    redactionMode: first.redaction_mode,
    redactCompletions: first.redact_completions,
    region: first.org_region,
    fallbacks: lists(first.fallbacks),
    keyFallbacks: new Map(keys.rows.map((k) => [k.id, lists(k.fallbacks)])),
    providers: rows
      .filter((r) => r.id !== null)
      .map((r) => ({
        id: r.id as string,
        name: r.name,
        kind: r.kind,
        baseUrl: r.base_url,
        apiKeySealed: r.api_key_sealed,
        region: r.region,
        models: new Set(r.models),
        reasoningModels: new Set(r.reasoning_models),
      })),
  };
}
