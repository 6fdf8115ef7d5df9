import type { IdentityServices } from '../identity/services.js';
import { type AuditActor, appendAudit } from '../platform/audit/append.js';
import { AppError } from '../platform/errors.js';
import { checkFallbacks, type Fallbacks, sameFallbacks } from '../platform/fallbacks.js';
import { limitsAuditMeta } from '../platform/limit-params.js';
import type { Region } from '../platform/params.js';

/** An org's name, region and creation time, read under its tenant context. */
export async function readOrg(s: IdentityServices, orgId: string) {
  const { rows } = await s.db.org(orgId, (q) =>
    q.query<{ name: string; region: Region; created_at: Date; suspended_at: Date | null }>(
      'SELECT name, region, created_at, suspended_at FROM orgs WHERE id = $1',
      [orgId],
    ),
  );
  const o = rows[0];
  if (!o) throw new AppError('not_found', 'Org not found');
  return {
    name: o.name,
    region: o.region,
    createdAt: o.created_at.toISOString(),
    // Suspended by a platform operator: members read, nothing else (the dashboard shows a banner).
    suspended: o.suspended_at !== null,
    suspendedAt: o.suspended_at?.toISOString() ?? null,
  };
}

export type RedactionMode = 'mask' | 'reversible';

/**
 * An org's settings: PII redaction default, how prompts are redacted (`mask` or `reversible`), whether the
 * upstream's answers are redacted too, data region and audit retention.
 */
export async function readSettings(s: IdentityServices, orgId: string) {
  const { rows } = await s.db.org(orgId, (q) =>
    q.query<{
      pii_redaction: boolean;
      redaction_mode: RedactionMode;
      redact_completions: boolean;
      region: Region;
      retention_days: number;
      gw_rpm: number | null;
      gw_tpm: number | null;
      gw_budget_micros: number | null;
      fallbacks: Fallbacks;
    }>(
      `SELECT pii_redaction, redaction_mode, redact_completions, region, retention_days, gw_rpm,
              gw_tpm::float8 AS gw_tpm, gw_budget_micros::float8 AS gw_budget_micros, fallbacks FROM orgs WHERE id = $1`,
      [orgId],
    ),
  );
  const r = rows[0];
  if (!r) throw new AppError('not_found', 'Org not found');
  return {
    piiRedaction: r.pii_redaction,
    redactionMode: r.redaction_mode,
    redactCompletions: r.redact_completions,
    region: r.region,
    retentionDays: r.retention_days,
    // Gateway limits of the whole org (null: unlimited); see gateway/limits.ts.
    requestsPerMinute: r.gw_rpm,
    tokensPerMinute: r.gw_tpm,
    monthlyBudgetUsd: r.gw_budget_micros === null ? null : r.gw_budget_micros / 1e6,
    fallbacks: r.fallbacks,
  };
}

export interface SettingsChange {
  piiRedaction?: boolean | undefined;
  redactionMode?: RedactionMode | undefined;
  redactCompletions?: boolean | undefined;
  region?: Region | undefined;
  retentionDays?: number | undefined;
  /** Gateway limits: null sets unlimited, undefined leaves as is. */
  requestsPerMinute?: number | null | undefined;
  tokensPerMinute?: number | null | undefined;
  monthlyBudgetUsd?: number | null | undefined;
  /** The gateway's ordered providers per model (issue 24 §3); replaces the whole map. */
  fallbacks?: Fallbacks | undefined;
}

/** Changes the settings given (the others stay), audited with the change in the same transaction. */
export async function updateSettings(
  s: IdentityServices,
  actor: AuditActor,
  orgId: string,
  change: SettingsChange,
): Promise<void> {
  await s.db.org(orgId, async (q) => {
    if (change.fallbacks !== undefined || change.region !== undefined) {
      // The fallback lists must stay in the org's region: checked against the new region, the new lists, or both.
      const { rows } = await q.query<{ region: Region; fallbacks: Fallbacks }>(
        'SELECT region, fallbacks FROM orgs WHERE id = $1 FOR UPDATE',
        [orgId],
      );
      const cur = rows[0];
      if (!cur) throw new AppError('not_found', 'Org not found');
      // A form sending back what it read (same lists, same region) saves its other fields even if a provider
      // changed since: the call-time check skips such entries anyway.
      const moved = change.region !== undefined && change.region !== cur.region;
      const edited = change.fallbacks !== undefined && !sameFallbacks(change.fallbacks, cur.fallbacks);
      if (moved || edited)
        await checkFallbacks(q, orgId, change.region ?? cur.region, change.fallbacks ?? cur.fallbacks, 'org');
    }
    await q.query(
      `UPDATE orgs SET pii_redaction = coalesce($2, pii_redaction), region = coalesce($3, region),
              retention_days = coalesce($4, retention_days), redaction_mode = coalesce($5, redaction_mode),
              redact_completions = coalesce($6, redact_completions), fallbacks = coalesce($7, fallbacks) WHERE id = $1`,
      [
        orgId,
        change.piiRedaction ?? null,
        change.region ?? null,
        change.retentionDays ?? null,
        change.redactionMode ?? null,
        change.redactCompletions ?? null,
        change.fallbacks === undefined ? null : JSON.stringify(change.fallbacks),
      ],
    );
    // Nullable settings: null is a value (unlimited), so each is set only when given.
    const limits: Array<[string, unknown]> = [];
    if (change.requestsPerMinute !== undefined) limits.push(['gw_rpm', change.requestsPerMinute]);
    if (change.tokensPerMinute !== undefined) limits.push(['gw_tpm', change.tokensPerMinute]);
    if (change.monthlyBudgetUsd !== undefined)
      limits.push([
        'gw_budget_micros',
        change.monthlyBudgetUsd === null ? null : Math.round(change.monthlyBudgetUsd * 1e6),
      ]);
    if (limits.length)
      await q.query(
        `UPDATE orgs SET ${limits.map(([c], i) => `${c} = $${i + 2}`).join(', ')} WHERE id = $1`,
        [orgId, ...limits.map(([, v]) => v)],
      );
    await appendAudit(q, actor, {
      orgId,
      action: 'settings.updated',
      target: `org:${orgId}`,
      meta: {
        // The limits under audit-safe names (limitsAuditMeta); the rest as sent.
        changes: {
          ...Object.fromEntries(
            Object.entries(change).filter(
              ([k, v]) =>
                v !== undefined && !['requestsPerMinute', 'tokensPerMinute', 'monthlyBudgetUsd'].includes(k),
            ),
          ),
          ...limitsAuditMeta(change),
        },
      },
    });
  });
}
