/**
 * API keys (programs) and runtime tokens (skill runtimes) of an org: hashed at rest (core/apikeys), the plaintext
 * returned once at creation, every change audited in the org's log in the same transaction.
 */
import { generateToken } from '@rampart/core/apikeys';
import type { Queryable } from '../db/types.js';
import { type AuditActor, appendAudit } from '../platform/audit/append.js';
import { AppError } from '../platform/errors.js';
import { checkFallbacks, type Fallbacks } from '../platform/fallbacks.js';
import { newId } from '../platform/ids.js';
import { limitsAuditMeta } from '../platform/limit-params.js';
import type { Region } from '../platform/params.js';
import { canGrant, type Role } from '../platform/permissions.js';
import { API_KEY_SCOPES, type ApiKeyScope, DEFAULT_API_KEY_SCOPES } from './principal.js';
import type { IdentityServices } from './services.js';

export type Redaction = 'inherit' | 'on' | 'off';
export type RedactionMode = 'mask' | 'reversible';

interface Row {
  id: string;
  name: string;
  prefix: string;
  created_at: Date;
  last_used_at: Date | null;
  redaction?: Redaction;
  redaction_mode?: RedactionMode | null;
  redact_completions?: boolean | null;
  region?: Region | null;
  scopes?: ApiKeyScope[];
  gw_rpm?: number | null;
  gw_tpm?: number | null;
  gw_budget_micros?: number | null;
  fallbacks?: Fallbacks;
}

export interface CredentialView {
  id: string;
  name: string;
  prefix: string;
  createdAt: string;
  lastUsedAt: string | null;
}

const view = (r: Row): CredentialView => ({
  id: r.id,
  name: r.name,
  prefix: r.prefix,
  createdAt: r.created_at.toISOString(),
  lastUsedAt: r.last_used_at?.toISOString() ?? null,
});

export interface ApiKeyInput {
  name: string;
  redaction: Redaction;
  /** Overrides of the org's settings; omitted: the org's. */
  redactionMode?: RedactionMode | undefined;
  redactCompletions?: boolean | undefined;
  region?: Region | undefined;
  /** Omitted: the default scopes, what every key could do before scopes existed. */
  scopes?: ApiKeyScope[] | undefined;
  /** Gateway limits of this key (null or omitted: unlimited; the org's limits apply as well). */
  requestsPerMinute?: number | null | undefined;
  tokensPerMinute?: number | null | undefined;
  monthlyBudgetUsd?: number | null | undefined;
  /** The gateway's ordered providers per model for this key (wins over the org's for the models it names). */
  fallbacks?: Fallbacks | undefined;
}

/** Gateway limits of a key: null sets unlimited, undefined leaves as is. */
export interface ApiKeyLimits {
  requestsPerMinute?: number | null | undefined;
  tokensPerMinute?: number | null | undefined;
  monthlyBudgetUsd?: number | null | undefined;
}

const budgetMicros = (usd: number | null | undefined) =>
  usd === null || usd === undefined ? null : Math.round(usd * 1e6);

/**
 * Creates an API key of the org; the key itself is only in the result. The creator's role must allow every scope
 * asked for (platform/permissions.ts `canGrant`): a member never mints a key that reads more than they can.
 * @throws AppError forbidden (a scope the creator's role cannot grant) | not_found | validation_failed
 */
export async function createApiKey(
  s: IdentityServices,
  actor: AuditActor,
  orgId: string,
  creator: { userId: string; role: Role },
  input: ApiKeyInput,
): Promise<{ id: string; key: string; prefix: string }> {
  const scopes = API_KEY_SCOPES.filter((x) => (input.scopes ?? DEFAULT_API_KEY_SCOPES).includes(x));
  const refused = scopes.filter((x) => !canGrant(creator.role, x));
  if (refused.length)
    throw new AppError(
      'forbidden',
      `Your role (${creator.role}) cannot give a key the ${refused.join(', ')} scope`,
    );
  const createdBy = creator.userId;
  const { key, prefix, hash } = generateToken('rk', 'live');
  const id = newId();
  const fallbacks = input.fallbacks ?? {};
  await s.db.org(orgId, async (q) => {
    if (Object.keys(fallbacks).length) {
      // Within the key's region (else the org's): a request never leaves it, whatever the list says.
      const org = await q.query<{ region: Region }>('SELECT region FROM orgs WHERE id = $1', [orgId]);
      const region = input.region ?? org.rows[0]?.region;
      if (!region) throw new AppError('not_found', 'Org not found');
      await checkFallbacks(q, orgId, region, fallbacks, 'key');
    }
    await q.query(
      `INSERT INTO api_keys (id, org_id, name, prefix, key_hash, redaction, region, created_by, scopes, redaction_mode,
                             redact_completions, gw_rpm, gw_tpm, gw_budget_micros, fallbacks)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
      [
        id,
        orgId,
        input.name,
        prefix,
        hash,
        input.redaction,
        input.region ?? null,
        createdBy,
        scopes,
        input.redactionMode ?? null,
        input.redactCompletions ?? null,
        input.requestsPerMinute ?? null,
        input.tokensPerMinute ?? null,
        budgetMicros(input.monthlyBudgetUsd),
        JSON.stringify(fallbacks),
      ],
    );
    await appendAudit(q, actor, {
      orgId,
      action: 'api_key.created',
      target: `api_key:${id}`,
      meta: {
        name: input.name,
        prefix,
        redaction: input.redaction,
        region: input.region ?? null,
        scopes,
        // Only when set, so rows of keys without overrides read as before.
        ...(input.redactionMode !== undefined ? { redactionMode: input.redactionMode } : {}),
        ...(input.redactCompletions !== undefined ? { redactCompletions: input.redactCompletions } : {}),
        ...limitsAuditMeta(input),
        ...(Object.keys(fallbacks).length ? { fallbacks } : {}),
      },
    });
  });
  return { id, key, prefix };
}

/** The org's live API keys, oldest first (never the key). */
export async function listApiKeys(s: IdentityServices, orgId: string) {
  const { rows } = await s.db.org(orgId, (q) =>
    q.query<Row>(
      `SELECT id, name, prefix, created_at, last_used_at, redaction, region, scopes, redaction_mode, redact_completions,
              gw_rpm, gw_tpm::float8 AS gw_tpm, gw_budget_micros::float8 AS gw_budget_micros, fallbacks
         FROM api_keys
        WHERE org_id = $1 AND revoked_at IS NULL ORDER BY created_at, id`,
      [orgId],
    ),
  );
  return rows.map((r) => ({
    ...view(r),
    redaction: r.redaction ?? 'inherit',
    redactionMode: r.redaction_mode ?? null,
    redactCompletions: r.redact_completions ?? null,
    region: r.region ?? null,
    scopes: r.scopes ?? [...DEFAULT_API_KEY_SCOPES],
    requestsPerMinute: r.gw_rpm ?? null,
    tokensPerMinute: r.gw_tpm ?? null,
    monthlyBudgetUsd: r.gw_budget_micros == null ? null : r.gw_budget_micros / 1e6,
    fallbacks: r.fallbacks ?? {},
  }));
}

/**
 * Changes a live key's gateway limits (the others stay), audited in the same transaction; every node's gateway
 * drops its cached limits of the org (the caller announces the change). @throws AppError not_found
 */
export async function updateApiKeyLimits(
  s: IdentityServices,
  actor: AuditActor,
  orgId: string,
  id: string,
  change: ApiKeyLimits,
): Promise<void> {
  const set: Array<[string, unknown]> = [];
  if (change.requestsPerMinute !== undefined) set.push(['gw_rpm', change.requestsPerMinute]);
  if (change.tokensPerMinute !== undefined) set.push(['gw_tpm', change.tokensPerMinute]);
  if (change.monthlyBudgetUsd !== undefined)
    set.push(['gw_budget_micros', budgetMicros(change.monthlyBudgetUsd)]);
  await s.db.org(orgId, async (q) => {
    const upd = await q.query(
      `UPDATE api_keys SET ${set.map(([c], i) => `${c} = $${i + 3}`).join(', ')}
        WHERE id = $1 AND org_id = $2 AND revoked_at IS NULL`,
      [id, orgId, ...set.map(([, v]) => v)],
    );
    if (upd.rowCount === 0) throw new AppError('not_found', 'API key not found');
    await appendAudit(q, actor, {
      orgId,
      action: 'api_key.updated',
      target: `api_key:${id}`,
      meta: limitsAuditMeta(change),
    });
  });
}

/** The org credentials an operator or owner revokes by id: their table and how errors name them. */
const REVOCABLE = {
  api_key: { table: 'api_keys', label: 'API key' },
  runtime_token: { table: 'runtime_tokens', label: 'Runtime token' },
} as const;

/** Revokes a live credential of `kind` in the caller's org transaction, audited `<kind>.revoked` there. */
async function revokeOrgCredentialIn(
  q: Queryable,
  kind: keyof typeof REVOCABLE,
  actor: AuditActor,
  orgId: string,
  id: string,
  meta?: Record<string, unknown>,
): Promise<void> {
  const { table, label } = REVOCABLE[kind];
  const upd = await q.query(
    `UPDATE ${table} SET revoked_at = now() WHERE id = $1 AND org_id = $2 AND revoked_at IS NULL`,
    [id, orgId],
  );
  if (upd.rowCount === 0) throw new AppError('not_found', `${label} not found`);
  await appendAudit(q, actor, {
    orgId,
    action: `${kind}.revoked`,
    target: `${kind}:${id}`,
    ...(meta ? { meta } : {}),
  });
}

/**
 * Revokes a live API key in the caller's org transaction, audited there (`meta`: e.g. an operator's reason). The
 * caller announces it (`s.auth.forgetApiKey`) once the transaction commits. @throws AppError not_found
 */
export const revokeApiKeyIn = (
  q: Queryable,
  actor: AuditActor,
  orgId: string,
  id: string,
  meta?: Record<string, unknown>,
): Promise<void> => revokeOrgCredentialIn(q, 'api_key', actor, orgId, id, meta);

/** Revokes an API key at once (and drops it from every node's cache). @throws AppError not_found */
export async function revokeApiKey(s: IdentityServices, actor: AuditActor, orgId: string, id: string) {
  await s.db.org(orgId, (q) => revokeApiKeyIn(q, actor, orgId, id));
  await s.auth.forgetApiKey(id);
}

/** Creates a runtime token of the org (scope: sync + telemetry); the token itself is only in the result. */
export async function createRuntimeToken(
  s: IdentityServices,
  actor: AuditActor,
  orgId: string,
  createdBy: string,
  name: string,
): Promise<{ id: string; token: string; prefix: string }> {
  const { key, prefix, hash } = generateToken('rt', 'live');
  const id = newId();
  await s.db.org(orgId, async (q) => {
    await q.query(
      'INSERT INTO runtime_tokens (id, org_id, name, prefix, token_hash, created_by) VALUES ($1, $2, $3, $4, $5, $6)',
      [id, orgId, name, prefix, hash, createdBy],
    );
    await appendAudit(q, actor, {
      orgId,
      action: 'runtime_token.created',
      target: `runtime_token:${id}`,
      meta: { prefix },
    });
  });
  return { id, token: key, prefix };
}

/** The org's live runtime tokens, oldest first (never the token). */
export async function listRuntimeTokens(s: IdentityServices, orgId: string): Promise<CredentialView[]> {
  const { rows } = await s.db.org(orgId, (q) =>
    q.query<Row>(
      'SELECT id, name, prefix, created_at, last_used_at FROM runtime_tokens WHERE org_id = $1 AND revoked_at IS NULL ORDER BY created_at, id',
      [orgId],
    ),
  );
  return rows.map(view);
}

/**
 * Revokes a live runtime token in the caller's org transaction, audited there (`meta` as for API keys). The
 * caller announces it (`s.auth.forgetRuntimeToken`) once the transaction commits. @throws AppError not_found
 */
export const revokeRuntimeTokenIn = (
  q: Queryable,
  actor: AuditActor,
  orgId: string,
  id: string,
  meta?: Record<string, unknown>,
): Promise<void> => revokeOrgCredentialIn(q, 'runtime_token', actor, orgId, id, meta);

/** Revokes a runtime token at once (and drops it from every node's cache). @throws AppError not_found */
export async function revokeRuntimeToken(s: IdentityServices, actor: AuditActor, orgId: string, id: string) {
  await s.db.org(orgId, (q) => revokeRuntimeTokenIn(q, actor, orgId, id));
  await s.auth.forgetRuntimeToken(id);
}
