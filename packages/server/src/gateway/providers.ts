import { type KeyRing, mask, openString, seal } from '@rampart/core/seal';
import type { Queryable } from '../db/types.js';
import { type AuditActor, appendAudit } from '../platform/audit/append.js';
import { AppError } from '../platform/errors.js';
import { newId } from '../platform/ids.js';
import type { OutboundPolicy } from '../platform/outbound/policy.js';
import { requireCredentialTransport } from '../platform/outbound/transport.js';
import { checkOutboundUrl } from '../platform/outbound/url.js';
import type { Region } from '../platform/params.js';
import type { PriceTable } from './prices.js';
import type { OrgRouting } from './route-cache.js';

export type { Region };

/** Which wire format a provider speaks: OpenAI's (chat completions, embeddings) or Anthropic's Messages API. */
export type ProviderKind = 'openai' | 'anthropic';
export const PROVIDER_KINDS = ['openai', 'anthropic'] as const satisfies readonly ProviderKind[];

export interface ProviderInput {
  kind?: ProviderKind | undefined;
  baseUrl: string;
  apiKey: string;
  region: Region;
  models: string[];
  reasoningModels: string[];
  /** USD per million tokens by model (limits.ts, prices.ts); omitted: the provider's current table is kept. */
  prices?: PriceTable | undefined;
}

export interface ProviderView {
  name: string;
  kind: ProviderKind;
  baseUrl: string;
  apiKeyMasked: string;
  region: Region;
  models: string[];
  reasoningModels: string[];
  prices: PriceTable;
  updatedAt: string;
}

interface Row {
  id: string;
  name: string;
  kind: ProviderKind;
  base_url: string;
  api_key_sealed: string;
  api_key_masked: string;
  region: Region;
  models: string[];
  reasoning_models: string[];
  prices: PriceTable | null;
  updated_at: Date;
}

const ctx = (orgId: string, id: string) => ({
  orgId,
  table: 'llm_providers',
  column: 'api_key_sealed',
  rowId: id,
});

const view = (r: Row): ProviderView => ({
  name: r.name,
  kind: r.kind,
  baseUrl: r.base_url,
  apiKeyMasked: r.api_key_masked,
  region: r.region,
  models: r.models,
  reasoningModels: r.reasoning_models,
  prices: r.prices ?? {},
  updatedAt: r.updated_at.toISOString(),
});

/**
 * Normalises and checks a provider base URL: http(s), no credentials, query or fragment, no literal private
 * address (see {@link checkOutboundUrl}); names are checked again at connect time by the guard. Every call
 * carries the API key, so plain http is refused unless the host is loopback or operator allow-listed
 * ({@link requireCredentialTransport}).
 * @throws AppError validation_failed
 */
export function normaliseBaseUrl(raw: string, policy: OutboundPolicy): string {
  const u = checkOutboundUrl(raw, policy, { field: 'baseUrl', allowQuery: false });
  requireCredentialTransport(u, policy, 'baseUrl');
  return u.toString().replace(/\/+$/, '');
}

/** Creates or replaces a provider; the API key is sealed to its row and audited without its value. */
export async function putProvider(
  q: Queryable,
  ring: KeyRing,
  actor: AuditActor,
  orgId: string,
  name: string,
  input: ProviderInput,
): Promise<ProviderView> {
  const existing = await q.query<{ id: string }>(
    'SELECT id FROM llm_providers WHERE org_id = $1 AND name = $2 FOR UPDATE',
    [orgId, name],
  );
  const id = existing.rows[0]?.id ?? newId();
  const { rows } = await q.query<Row>(
    `INSERT INTO llm_providers (id, org_id, name, base_url, api_key_sealed, api_key_masked, region, models, reasoning_models,
                                kind, prices)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, coalesce($11::jsonb, '{}'::jsonb))
     ON CONFLICT (org_id, name) DO UPDATE SET base_url = EXCLUDED.base_url, api_key_sealed = EXCLUDED.api_key_sealed,
       api_key_masked = EXCLUDED.api_key_masked, region = EXCLUDED.region, models = EXCLUDED.models,
       reasoning_models = EXCLUDED.reasoning_models, kind = EXCLUDED.kind,
       prices = coalesce($11::jsonb, llm_providers.prices), updated_at = now()
     RETURNING *`,
    [
      id,
      orgId,
      name,
      input.baseUrl,
      seal(ring, input.apiKey, ctx(orgId, id)),
      mask(input.apiKey),
      input.region,
      input.models,
      input.reasoningModels,
      input.kind ?? 'openai',
      input.prices === undefined ? null : JSON.stringify(input.prices),
    ],
  );
  await appendAudit(q, actor, {
    orgId,
    action: existing.rows[0] ? 'provider.updated' : 'provider.created',
    target: `provider:${name}`,
    meta: {
      baseUrl: input.baseUrl,
      kind: input.kind ?? 'openai',
      region: input.region,
      models: input.models.length,
      ...(input.prices !== undefined ? { prices: Object.keys(input.prices).length } : {}),
    },
  });
  return view(rows[0] as Row);
}

export async function listProviders(q: Queryable, orgId: string): Promise<ProviderView[]> {
  const { rows } = await q.query<Row>('SELECT * FROM llm_providers WHERE org_id = $1 ORDER BY name', [orgId]);
  return rows.map(view);
}

export async function deleteProvider(
  q: Queryable,
  actor: AuditActor,
  orgId: string,
  name: string,
): Promise<void> {
  const del = await q.query('DELETE FROM llm_providers WHERE org_id = $1 AND name = $2', [orgId, name]);
  if (del.rowCount === 0) throw new AppError('not_found', 'Provider not found');
  await appendAudit(q, actor, { orgId, action: 'provider.deleted', target: `provider:${name}` });
}

export interface Route {
  providerId: string;
  providerName: string;
  kind: ProviderKind;
  baseUrl: string;
  /** Plaintext, in memory only for the outbound call. */
  apiKey: string;
  reasoning: boolean;
  region: Region;
  /** Redact the prompts (org `piiRedaction`, or the key's `redaction` on/off). */
  redact: boolean;
  /** How prompts are redacted: fixed placeholders, or numbered ones put back in the answer. */
  redactionMode: 'mask' | 'reversible';
  /** Redact the upstream's answer too. */
  redactCompletions: boolean;
}

/** The key's overrides of the org's redaction settings (null or absent: the org's). */
export interface KeyRedaction {
  /** The API key, for its own fallback lists (absent: the org's lists). */
  keyId?: string | undefined;
  redaction: 'inherit' | 'on' | 'off';
  redactionMode?: 'mask' | 'reversible' | null;
  redactCompletions?: boolean | null;
}

/**
 * Where a request for `model` goes: a provider of the request's region (the key's region, else the org's)
 * that lists the model and speaks the route's wire format (`kind`: `openai` for chat completions and
 * embeddings, `anthropic` for messages). A provider elsewhere is never used (data residency). The provider key
 * is opened here, per call, and lives only as long as the outbound request. The first of {@link routesFor}.
 * @throws AppError not_found | region_not_allowed | validation_failed (see {@link routesFor})
 */
export function routeFor(
  routing: OrgRouting,
  ring: KeyRing,
  orgId: string,
  model: string,
  keyRegion: Region | null,
  keyRedaction: KeyRedaction | KeyRedaction['redaction'],
  kind: ProviderKind = 'openai',
): Route {
  return routesFor(routing, ring, orgId, model, keyRegion, keyRedaction, kind)[0] as Route;
}

/**
 * The ordered providers a request for `model` may try (issue 24 §3): the key's fallback list for the model, else
 * the org's, keeping only the entries that still qualify (they exist, are in the request's region, list the model
 * and speak the route's `kind`: saved lists are checked, but a provider may have changed since). Without a list,
 * or when no entry qualifies any more, the one provider {@link routeFor} always chose: the first in-region
 * provider of the route's kind listing the model, by name. Never empty.
 * @throws AppError not_found (no provider offers the model) | region_not_allowed (only other regions do) |
 *   validation_failed (only providers of the other kind do, in the region: the caller used the wrong route)
 */
export function routesFor(
  routing: OrgRouting,
  ring: KeyRing,
  orgId: string,
  model: string,
  keyRegion: Region | null,
  keyRedaction: KeyRedaction | KeyRedaction['redaction'],
  kind: ProviderKind = 'openai',
): Route[] {
  const key = typeof keyRedaction === 'string' ? { redaction: keyRedaction } : keyRedaction;
  const region = keyRegion ?? routing.region;
  const candidates = routing.providers.filter((p) => p.models.has(model));
  const inRegion = candidates.filter((p) => p.region === region);
  const match = inRegion.find((p) => p.kind === kind);
  if (!match) {
    const other = inRegion[0];
    if (other) {
      throw new AppError(
        'validation_failed',
        other.kind === 'anthropic'
          ? 'This model is served by an anthropic-kind provider: call POST /v1/messages (Anthropic Messages format)'
          : `This model is served by an openai-kind provider: call it in OpenAI's format (POST /v1/chat/completions)`,
      );
    }
    if (candidates.length) {
      throw new AppError(
        'region_not_allowed',
        `No provider in region ${region} serves this model; requests never leave their region`,
      );
    }
    throw new AppError('not_found', 'No provider serves this model');
  }
  const list =
    (key.keyId !== undefined ? routing.keyFallbacks.get(key.keyId)?.get(model) : undefined) ??
    routing.fallbacks.get(model);
  const usable = (list ?? [])
    .map((name) => inRegion.find((p) => p.name === name && p.kind === kind))
    .filter((p): p is typeof match => p !== undefined);
  const chosen = usable.length ? usable : [match];
  const redact = key.redaction === 'inherit' ? routing.piiRedaction : key.redaction === 'on';
  return chosen.map((p) => ({
    providerId: p.id,
    providerName: p.name,
    kind: p.kind,
    baseUrl: p.baseUrl,
    apiKey: openString(ring, p.apiKeySealed, ctx(orgId, p.id)),
    reasoning: p.reasoningModels.has(model),
    region,
    redact,
    redactionMode: key.redactionMode ?? routing.redactionMode,
    redactCompletions: key.redactCompletions ?? routing.redactCompletions,
  }));
}

/** Models offered in the request's region, for GET /v1/models. */
export function modelsInRegion(routing: OrgRouting, keyRegion: Region | null) {
  const region = keyRegion ?? routing.region;
  const seen = new Set<string>();
  const out: Array<{ id: string; object: 'model'; created: number; owned_by: string }> = [];
  for (const p of routing.providers) {
    if (p.region !== region) continue;
    for (const m of p.models) {
      if (seen.has(m)) continue;
      seen.add(m);
      out.push({ id: m, object: 'model', created: 0, owned_by: p.name });
    }
  }
  return out;
}
