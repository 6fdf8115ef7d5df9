/**
 * The operator console's answer shapes: the /api/admin routes' own types from api-types (inferred from their zod
 * response schemas), plus the settings row (tenancy/platform-settings-routes.ts) and the small helpers the pages
 * share. The org tabs of plain rows (jobs, runs, widgets, connections) are shown column by column as they come.
 */
import type {
  AuditEntry,
  Member,
  OperatorCredential,
  OperatorInvitation,
  OperatorNotice,
  OperatorNoticeDetail,
  OperatorOrg,
  OperatorOrgDetail,
  PlatformAuditVerify,
} from '@rampart/server/api-types';

export type AdminOrg = OperatorOrg & Partial<Pick<OperatorOrgDetail, 'suspendedReason'>>;

export interface AdminOrgList {
  orgs: AdminOrg[];
  total: number;
}

export type AdminMember = Pick<Member, 'userId' | 'email' | 'createdAt'> & { role: string };
export type AdminCredential = OperatorCredential;
export type CredentialKind = AdminCredential['kind'];
export type AdminInvitation = OperatorInvitation;

/** What each credential kind is called, and the public start of its secret (before the stored prefix). */
export const CREDENTIAL_KINDS: Record<CredentialKind, { name: string; start: string }> = {
  api_key: { name: 'API key', start: 'rk_live_' },
  runtime_token: { name: 'Runtime token', start: 'rt_live_' },
  cli_credential: { name: 'CLI credential', start: 'cli_live_' },
};

/** One row of an audit chain (the org's, or the platform's): the org audit route's rows. */
export type AuditRow = AuditEntry;

export interface AuditPage {
  entries: AuditRow[];
  nextCursor: string | null;
}

export type VerifyResult = PlatformAuditVerify;

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

/** `1 recipient`, `2 recipients`. */
export const count = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

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
