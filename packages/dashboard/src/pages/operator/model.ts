/**
 * The operator console's answer shapes (the /api/admin routes). The org tabs whose rows have many shapes (jobs,
 * runs, widgets, connections, invitations) are shown generically, one column per field the row holds.
 */

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
  plan?: string | null;
  suspended?: boolean;
  suspendedAt?: string | null;
  suspendedReason?: string | null;
  usage?: OrgUsage;
  lastActivityAt?: string | null;
}

export interface AdminOrgList {
  orgs: AdminOrg[];
  total?: number;
}

export interface AdminMember {
  userId: string;
  email: string;
  role: string;
  createdAt: string;
}

export interface AdminCredential {
  kind: string;
  id: string;
  name?: string | null;
  prefix?: string | null;
  createdAt: string;
  lastUsedAt?: string | null;
  revokedAt?: string | null;
}

/** One row of an audit chain (the org's, or the platform's). */
export interface AuditRow {
  id?: string | number;
  seq?: number | string;
  at: string;
  action: string;
  target?: string | null;
  userId?: string | null;
  apiKeyId?: string | null;
  ip?: string | null;
  meta?: Record<string, unknown>;
}

export interface AuditPage {
  entries?: AuditRow[];
  rows?: AuditRow[];
  audit?: AuditRow[];
  nextCursor?: string | number | null;
}

export interface VerifyResult {
  ok: boolean;
  checked: number;
  firstBadSeq?: number | string | null;
}

export type SettingSource = 'env' | 'database' | 'unset';

export interface PlatformSetting {
  key: string;
  env: string;
  label: string;
  secret: boolean;
  source: SettingSource;
  value: string | null;
  updatedAt: string | null;
}

export interface NoticeStatus {
  queued: number;
  sent: number;
  failed: number;
}

export interface Notice {
  noticeId: string;
  subject: string;
  createdAt: string;
  createdBy: string | null;
  orgs: number;
  recipients: number;
  status: NoticeStatus;
}

export interface NoticeDetail extends Notice {
  perOrg: Array<{ orgId: string; name: string; recipients: number } & NoticeStatus>;
}

/** `/api/admin…` with each path segment encoded. */
export const adminPath = (...segments: string[]) =>
  `/api/admin/${segments.map((s) => encodeURIComponent(s)).join('/')}`;

/** The rows of an audit page, whichever key the route puts them under. */
export const auditRows = (p: AuditPage): AuditRow[] => p.entries ?? p.rows ?? p.audit ?? [];

/** A support action's reason: the operator's own words, trimmed, 10 to 500 characters (the server's rule). */
export const REASON_MIN = 10;
export const REASON_MAX = 500;
export const reasonOk = (reason: string) => {
  const n = reason.trim().length;
  return n >= REASON_MIN && n <= REASON_MAX;
};
