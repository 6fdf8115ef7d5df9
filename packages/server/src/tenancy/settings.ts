import type { IdentityServices } from '../identity/services.js';
import { type AuditActor, appendAudit } from '../platform/audit/append.js';
import { AppError } from '../platform/errors.js';
import { checkFallbacks, type Fallbacks, sameFallbacks } from '../platform/fallbacks.js';
import type { Region } from '../platform/params.js';

/** An org's name, region and creation time, read under its tenant context. */
export async function readOrg(s: IdentityServices, orgId: string) {
  const { rows } = await s.db.org(orgId, (q) =>
    q.query<{ name: string; region: Region; created_at: Date }>(
      'SELECT name, region, created_at FROM orgs WHERE id = $1',
      [orgId],
    ),
  );
  const o = rows[0];
  if (!o) throw new AppError('not_found', 'Org not found');
  return { name: o.name, region: o.region, createdAt: o.created_at.toISOString() };
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
      fallbacks: Fallbacks;
    }>(
      'SELECT pii_redaction, redaction_mode, redact_completions, region, retention_days, fallbacks FROM orgs WHERE id = $1',
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
    fallbacks: r.fallbacks,
  };
}

export interface SettingsChange {
  piiRedaction?: boolean | undefined;
  redactionMode?: RedactionMode | undefined;
  redactCompletions?: boolean | undefined;
  region?: Region | undefined;
  retentionDays?: number | undefined;
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
    await appendAudit(q, actor, {
      orgId,
      action: 'settings.updated',
      target: `org:${orgId}`,
      meta: { changes: change },
    });
  });
}
