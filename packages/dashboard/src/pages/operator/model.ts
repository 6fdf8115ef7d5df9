/**
 * The operator console's answer shapes, as the /api/admin routes declare them (tenancy/admin-routes.ts,
 * tenancy/platform-settings-routes.ts; notices come from api-types). The org tabs of plain rows (jobs, runs,
 * widgets, connections) are shown generically, one column per field the row holds.
 */
import type { AuditEntry, OperatorNotice, OperatorNoticeDetail } from '@rampart/server/api-types';

export interface OrgUsage {
  jobs: number;
  widgets: number;
  connections: number;
  apiKeys: number;
}

export interface AdminOrg {
  orgId: string;
  name: string;
  region: string;
  createdAt: string;
  members: number;
  plan: string;
  suspended: boolean;
  suspendedAt: string | null;
  /** In the one-org answer only. */
  suspendedReason?: string | null;
  usage: OrgUsage;
  lastActivityAt: string | null;
}

export interface AdminOrgList {
  orgs: AdminOrg[];
  total: number;
}

export interface AdminMember {
  userId: string;
  email: string;
  role: string;
  createdAt: string;
}

export type CredentialKind = 'api_key' | 'runtime_token' | 'cli_credential';

export interface AdminCredential {
  kind: CredentialKind;
  id: string;
  name: string;
  prefix: string;
  userId: string | null;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

/** What each credential kind is called, and the public start of its secret (before the stored prefix). */
export const CREDENTIAL_KINDS: Record<CredentialKind, { name: string; start: string }> = {
  api_key: { name: 'API key', start: 'rk_live_' },
  runtime_token: { name: 'Runtime token', start: 'rt_live_' },
  cli_credential: { name: 'CLI credential', start: 'cli_live_' },
};

export interface AdminInvitation {
  invitationId: string;
  email: string;
  role: string;
  status: 'pending' | 'expired' | 'used' | 'revoked';
  expiresAt: string;
  createdAt: string;
}

/** One row of an audit chain (the org's, or the platform's): the org audit route's rows. */
export type AuditRow = AuditEntry;

export interface AuditPage {
  entries: AuditRow[];
  nextCursor: string | null;
}

export interface VerifyResult {
  ok: boolean;
  checked: number;
  head: string;
  firstBadSeq?: number;
  reason?: string;
}

export type SettingSource = 'env' | 'database' | 'unset';

export interface PlatformSetting {
  key: string;
  env: string;
  label: string;
  secret: boolean;
  source: SettingSource;
  value: string | null;
  /** A value is stored in the database (in force unless the environment variable is set). */
  stored: boolean;
  updatedAt: string | null;
}

export type Notice = OperatorNotice;
export type NoticeDetail = OperatorNoticeDetail;
export type NoticeStatus = Notice['status'];

/** `/api/admin…` with each path segment encoded. */
export const adminPath = (...segments: string[]) =>
  `/api/admin/${segments.map((s) => encodeURIComponent(s)).join('/')}`;

/** A support action's reason: the operator's own words, trimmed, 10 to 500 characters (the server's rule). */
export const REASON_MIN = 10;
export const REASON_MAX = 500;
export const reasonOk = (reason: string) => {
  const n = reason.trim().length;
  return n >= REASON_MIN && n <= REASON_MAX;
};
