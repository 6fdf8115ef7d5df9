import { z } from 'zod';

/**
 * The gateway limit settings (gateway/limits.ts) as the org settings and the API key routes take them (null: unlimited; omitted:
 * unchanged). A budget is USD with up to 6 decimals (stored as micro-USD).
 */
export const gatewayLimitsInput = {
  requestsPerMinute: z.number().int().min(0).max(10_000_000).nullable().optional(),
  tokensPerMinute: z.number().int().min(0).max(1_000_000_000_000).nullable().optional(),
  monthlyBudgetUsd: z.number().min(0).max(1_000_000_000).nullable().optional(),
};

export const gatewayLimitsView = {
  requestsPerMinute: z.number().int().nullable(),
  tokensPerMinute: z.number().int().nullable(),
  monthlyBudgetUsd: z.number().nullable(),
};

/**
 * The limit fields given, for audit metadata: only those set, under names the audit's secret-key guard accepts
 * (`tokensPerMinute` would read as a token): `rpm`, `tpm`, `monthlyBudgetUsd`.
 */
export function limitsAuditMeta(l: {
  requestsPerMinute?: number | null | undefined;
  tokensPerMinute?: number | null | undefined;
  monthlyBudgetUsd?: number | null | undefined;
}): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  if (l.requestsPerMinute !== undefined) out.rpm = l.requestsPerMinute;
  if (l.tokensPerMinute !== undefined) out.tpm = l.tokensPerMinute;
  if (l.monthlyBudgetUsd !== undefined) out.monthlyBudgetUsd = l.monthlyBudgetUsd;
  return out;
}
