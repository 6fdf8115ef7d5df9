/**
 * What platform operators read across orgs, for support. Every read of one org's data is audited on the platform
 * chain and on that org's own chain, so its admins see that support looked. Read-only, and never a secret: jobs
 * show their target's origin only (a URL's path or query may carry a token), widgets no prompt, connections no
 * envelope, credentials their public prefix only.
 */
import type { Queryable } from '../db/types.js';
import type { IdentityServices } from '../identity/services.js';
import { type AuditActor, appendAudit } from '../platform/audit/append.js';
import { AUDIT_COLUMNS, type AuditDbRow, chainedRow } from '../platform/audit/canonical.js';
import { type AuditEntry, readAuditPage } from '../platform/audit/export.js';
import { verifyChain } from '../platform/audit/verify.js';
import { AppError } from '../platform/errors.js';
import { isUuid } from '../platform/ids.js';

export interface OrgUsage {
  jobs: number;
  widgets: number;
  connections: number;
  apiKeys: number;
}

export interface OperatorOrg {
  orgId: string;
  name: string;
  region: string;
  createdAt: string;
  members: number;
  plan: string;
  suspended: boolean;
  suspendedAt: string | null;
  usage: OrgUsage;
  lastActivityAt: string | null;
}

interface OrgRow {
  id: string;
  name: string;
  region: string;
  created_at: Date;
  suspended_at: Date | null;
  suspended_reason: string | null;
  members: number;
}

const iso = (d: Date | null | undefined): string | null => d?.toISOString() ?? null;

/**
 * An org's plan, usage counts and last activity, read under its own tenant context (RLS holds; no cross-tenant
 * definer function). Last activity: the newest audit row that is not an operator's, or a key's last use.
 */
async function orgFacts(s: IdentityServices, orgId: string) {
  const { rows } = await s.db.org(orgId, (q) =>
    q.query<{
      plan: string | null;
      jobs: number;
      widgets: number;
      connections: number;
      api_keys: number;
      last_audit: Date | null;
      last_key: Date | null;
    }>(
      `SELECT (SELECT plan FROM org_billing WHERE org_id = $1) AS plan,
              (SELECT count(*)::int FROM jobs WHERE org_id = $1) AS jobs,
              (SELECT count(*)::int FROM widgets WHERE org_id = $1) AS widgets,
              (SELECT count(*)::int FROM db_connections WHERE org_id = $1) AS connections,
              (SELECT count(*)::int FROM api_keys WHERE org_id = $1 AND revoked_at IS NULL) AS api_keys,
              (SELECT at FROM audit_log WHERE org_id = $1 AND action NOT LIKE 'operator.%'
                ORDER BY seq DESC LIMIT 1) AS last_audit,
              (SELECT max(last_used_at) FROM api_keys WHERE org_id = $1) AS last_key`,
      [orgId],
    ),
  );
  const r = rows[0];
  const last = [r?.last_audit, r?.last_key].filter((d): d is Date => d instanceof Date);
  return {
    plan: r?.plan ?? 'free',
    usage: {
      jobs: r?.jobs ?? 0,
      widgets: r?.widgets ?? 0,
      connections: r?.connections ?? 0,
      apiKeys: r?.api_keys ?? 0,
    },
    lastActivityAt: last.length ? new Date(Math.max(...last.map((d) => d.getTime()))).toISOString() : null,
  };
}

async function toOperatorOrg(s: IdentityServices, o: OrgRow): Promise<OperatorOrg> {
  return {
    orgId: o.id,
    name: o.name,
    region: o.region,
    createdAt: o.created_at.toISOString(),
    members: o.members,
    suspended: o.suspended_at !== null,
    suspendedAt: iso(o.suspended_at),
    ...(await orgFacts(s, o.id)),
  };
}

const ORG_COLUMNS = `o.id::text AS id, o.name, o.region, o.created_at, o.suspended_at, o.suspended_reason,
                     coalesce(c.n, 0) AS members`;

export interface OrgSearch {
  /** Matches the name (case-insensitive substring), an exact org id, or a member's exact e-mail address. */
  q?: string | undefined;
  limit: number;
  offset: number;
}

/** Orgs newest first, with plan, usage, suspension and last activity; the listing itself is audited. */
export async function listOrgsForOperator(
  s: IdentityServices,
  actor: AuditActor,
  search: OrgSearch,
): Promise<{ orgs: OperatorOrg[]; total: number }> {
  const q = search.q?.trim() ?? '';
  let memberOrgs: string[] = [];
  if (q.includes('@')) {
    const user = await s.db.platform((tq) =>
      tq.query<{ id: string }>('SELECT id::text AS id FROM users WHERE email = $1', [q.toLowerCase()]),
    );
    const userId = user.rows[0]?.id;
    if (userId) {
      // memberships is readable in the user's own context (its RLS policy): the orgs this person is in.
      const m = await s.db.tx({ orgId: null, userId }, (tq) =>
        tq.query<{ org_id: string }>('SELECT org_id::text AS org_id FROM memberships WHERE user_id = $1', [
          userId,
        ]),
      );
      memberOrgs = m.rows.map((r) => r.org_id);
    }
  }
  const like = `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  const { rows, total } = await s.db.platform(async (tq) => {
    const where = q === '' ? 'true' : `(o.name ILIKE $1 OR o.id::text = $2 OR o.id = ANY($3::uuid[]))`;
    const params = q === '' ? [] : [like, isUuid(q) ? q.toLowerCase() : '', memberOrgs];
    const count = await tq.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM orgs o WHERE ${where}`,
      params,
    );
    const page = await tq.query<OrgRow>(
      `SELECT ${ORG_COLUMNS} FROM orgs o LEFT JOIN rampart_org_member_counts() c ON c.org_id = o.id
        WHERE ${where} ORDER BY o.created_at DESC, o.id LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
      [...params, search.limit, search.offset],
    );
    await appendAudit(tq, actor, {
      orgId: null,
      action: 'operator.orgs_listed',
      meta: { searched: q !== '', returned: page.rows.length },
    });
    return { rows: page.rows, total: count.rows[0]?.n ?? 0 };
  });
  const orgs: OperatorOrg[] = [];
  for (const o of rows) orgs.push(await toOperatorOrg(s, o));
  return { orgs, total };
}

/** One org's row; undefined when it does not exist. */
async function orgRow(q: Queryable, orgId: string): Promise<OrgRow | undefined> {
  const { rows } = await q.query<OrgRow>(
    `SELECT ${ORG_COLUMNS} FROM orgs o LEFT JOIN rampart_org_member_counts() c ON c.org_id = o.id
      WHERE o.id = $1`,
    [orgId],
  );
  return rows[0];
}

/**
 * Records that an operator opened one org's `what` (platform chain, then the org's chain).
 * @throws AppError not_found when the org does not exist (nothing is recorded)
 */
export async function recordOperatorAccess(
  s: IdentityServices,
  actor: AuditActor,
  orgId: string,
  what: string,
): Promise<void> {
  const exists = await s.db.platform((q) => q.query('SELECT 1 FROM orgs WHERE id = $1', [orgId]));
  if (exists.rowCount === 0) throw new AppError('not_found', 'Org not found');
  await s.db.platform((q) =>
    appendAudit(q, actor, { orgId: null, action: 'operator.org_accessed', target: `org:${orgId}` }),
  );
  await s.db.org(orgId, (q) =>
    appendAudit(q, actor, { orgId, action: 'operator.org_accessed', target: `org:${orgId}`, meta: { what } }),
  );
}

/** One org's summary (audited as `summary`). @throws AppError not_found */
export async function orgForOperator(s: IdentityServices, actor: AuditActor, orgId: string) {
  await recordOperatorAccess(s, actor, orgId, 'summary');
  const o = await s.db.platform((q) => orgRow(q, orgId));
  if (!o) throw new AppError('not_found', 'Org not found');
  return { ...(await toOperatorOrg(s, o)), suspendedReason: o.suspended_reason };
}

/** The origin of a job's URL: where it calls, without a path or query that might carry a token. */
const originOf = (url: string): string => {
  try {
    return new URL(url).origin;
  } catch {
    return '';
  }
};

/** An org's jobs, oldest first (no headers, body, auth or full URL). */
export async function orgJobs(s: IdentityServices, orgId: string) {
  const { rows } = await s.db.org(orgId, (q) =>
    q.query<{
      id: string;
      name: string;
      schedule: string;
      timezone: string;
      method: string;
      url: string;
      enabled: boolean;
      next_run_at: Date | null;
      consecutive_failures: number;
      created_at: Date;
    }>(
      `SELECT id::text AS id, name, schedule, timezone, method, url, enabled, next_run_at, consecutive_failures,
              created_at
         FROM jobs WHERE org_id = $1 ORDER BY created_at, id LIMIT 500`,
      [orgId],
    ),
  );
  return rows.map((j) => ({
    id: j.id,
    name: j.name,
    schedule: j.schedule,
    timezone: j.timezone,
    method: j.method,
    target: originOf(j.url),
    enabled: j.enabled,
    nextRunAt: iso(j.next_run_at),
    consecutiveFailures: j.consecutive_failures,
    createdAt: j.created_at.toISOString(),
  }));
}

/** An org's latest 200 runs, newest first (no response snippet). */
export async function orgRuns(s: IdentityServices, orgId: string) {
  const { rows } = await s.db.org(orgId, (q) =>
    q.query<{
      id: string;
      job_id: string;
      job_name: string;
      trigger: string;
      scheduled_for: Date;
      started_at: Date | null;
      duration_ms: number | null;
      status: string;
      http_status: number | null;
      attempts: number;
      error: string | null;
    }>(
      `SELECT r.id::text AS id, r.job_id::text AS job_id, j.name AS job_name, r.trigger, r.scheduled_for,
              r.started_at, r.duration_ms, r.status, r.http_status, r.attempts, r.error
         FROM job_runs r JOIN jobs j ON j.id = r.job_id
        WHERE r.org_id = $1 ORDER BY r.created_at DESC, r.id LIMIT 200`,
      [orgId],
    ),
  );
  return rows.map((r) => ({
    id: r.id,
    jobId: r.job_id,
    jobName: r.job_name,
    trigger: r.trigger,
    scheduledFor: r.scheduled_for.toISOString(),
    startedAt: iso(r.started_at),
    durationMs: r.duration_ms,
    status: r.status,
    httpStatus: r.http_status,
    attempts: r.attempts,
    error: r.error,
  }));
}

/** An org's widgets (no system prompt). */
export async function orgWidgets(s: IdentityServices, orgId: string) {
  const { rows } = await s.db.org(orgId, (q) =>
    q.query<{ id: string; name: string; allowed_origins: string[]; model: string; created_at: Date }>(
      `SELECT id::text AS id, name, allowed_origins, model, created_at FROM widgets
        WHERE org_id = $1 ORDER BY created_at, id LIMIT 500`,
      [orgId],
    ),
  );
  return rows.map((w) => ({
    id: w.id,
    name: w.name,
    allowedOrigins: w.allowed_origins,
    model: w.model,
    createdAt: w.created_at.toISOString(),
  }));
}

/** An org's database connections (never the sealed envelope or the agent token's hash). */
export async function orgConnections(s: IdentityServices, orgId: string) {
  const { rows } = await s.db.org(orgId, (q) =>
    q.query<{ id: string; name: string; mode: string; created_at: Date; updated_at: Date }>(
      `SELECT id::text AS id, name, mode, created_at, updated_at FROM db_connections
        WHERE org_id = $1 ORDER BY created_at, id LIMIT 500`,
      [orgId],
    ),
  );
  return rows.map((c) => ({
    id: c.id,
    name: c.name,
    mode: c.mode,
    createdAt: c.created_at.toISOString(),
    updatedAt: c.updated_at.toISOString(),
  }));
}

export type CredentialKind = 'api_key' | 'runtime_token' | 'cli_credential';

export interface OperatorCredential {
  kind: CredentialKind;
  id: string;
  name: string;
  prefix: string;
  /** For CLI credentials: the member they belong to. */
  userId: string | null;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

/**
 * An org's API keys and runtime tokens, and the CLI credentials of its members (a CLI credential belongs to a
 * person, not an org), revoked ones included, newest first; never a hash.
 */
export async function orgCredentials(s: IdentityServices, orgId: string): Promise<OperatorCredential[]> {
  const { rows } = await s.db.org(orgId, (q) =>
    q.query<{
      kind: CredentialKind;
      id: string;
      name: string;
      prefix: string;
      user_id: string | null;
      created_at: Date;
      last_used_at: Date | null;
      revoked_at: Date | null;
    }>(
      `SELECT * FROM (
         SELECT 'api_key' AS kind, id::text AS id, name, prefix, NULL::text AS user_id, created_at, last_used_at,
                revoked_at FROM api_keys WHERE org_id = $1
         UNION ALL
         SELECT 'runtime_token', id::text, name, prefix, NULL, created_at, last_used_at, revoked_at
           FROM runtime_tokens WHERE org_id = $1
         UNION ALL
         SELECT 'cli_credential', c.id::text, c.name, c.prefix, c.user_id::text, c.created_at, c.last_used_at,
                c.revoked_at
           FROM cli_credentials c JOIN memberships m ON m.user_id = c.user_id AND m.org_id = $1
       ) x ORDER BY created_at DESC, id LIMIT 1000`,
      [orgId],
    ),
  );
  return rows.map((r) => ({
    kind: r.kind,
    id: r.id,
    name: r.name,
    prefix: r.prefix,
    userId: r.user_id,
    createdAt: r.created_at.toISOString(),
    lastUsedAt: iso(r.last_used_at),
    revokedAt: iso(r.revoked_at),
  }));
}

/** An org's invitations, every status, newest first (never the token's hash). */
export async function orgInvitations(s: IdentityServices, orgId: string) {
  const { rows } = await s.db.org(orgId, (q) =>
    q.query<{
      id: string;
      email: string;
      role: string;
      expires_at: Date;
      accepted_at: Date | null;
      revoked_at: Date | null;
      created_at: Date;
    }>(
      `SELECT id::text AS id, email, role, expires_at, accepted_at, revoked_at, created_at FROM org_invitations
        WHERE org_id = $1 ORDER BY created_at DESC, id LIMIT 500`,
      [orgId],
    ),
  );
  const now = Date.now();
  return rows.map((r) => ({
    invitationId: r.id,
    email: r.email,
    role: r.role,
    status: r.revoked_at
      ? ('revoked' as const)
      : r.accepted_at
        ? ('used' as const)
        : r.expires_at.getTime() <= now
          ? ('expired' as const)
          : ('pending' as const),
    expiresAt: r.expires_at.toISOString(),
    createdAt: r.created_at.toISOString(),
  }));
}

/** One page of an org's audit log, newest first, before `before` (a seq). */
export async function orgAudit(
  s: IdentityServices,
  orgId: string,
  limit: number,
  before?: number,
): Promise<{ entries: AuditEntry[]; nextCursor: string | null }> {
  const entries = await readAuditPage(
    s.db,
    orgId,
    { newestFirst: true, ...(before !== undefined ? { beforeSeq: before } : {}) },
    limit,
  );
  const last = entries.at(-1);
  return { entries, nextCursor: entries.length === limit && last ? String(last.seq) : null };
}

/** One page of the platform chain, newest first, before `before` (a seq), in the platform context. */
export async function platformAudit(
  s: IdentityServices,
  limit: number,
  before?: number,
): Promise<{ entries: AuditEntry[]; nextCursor: string | null }> {
  const { rows } = await s.db.platform((q) =>
    q.query<AuditDbRow>(
      `SELECT ${AUDIT_COLUMNS} FROM audit_log WHERE org_id IS NULL AND seq < $1
        ORDER BY audit_log.seq DESC LIMIT $2`,
      [before ?? Number.MAX_SAFE_INTEGER, limit],
    ),
  );
  const entries = rows.map((r): AuditEntry => {
    const c = chainedRow(r);
    return {
      ...c,
      at: c.at.toISOString(),
      meta: JSON.parse(c.meta) as Record<string, unknown>,
      hash: r.hash,
    };
  });
  const last = entries.at(-1);
  return { entries, nextCursor: entries.length === limit && last ? String(last.seq) : null };
}

/** Recomputes the platform chain: `checked` rows, and the first bad one when it does not hold. */
export async function verifyPlatformAudit(s: IdentityServices) {
  const r = await s.db.platform((q) => verifyChain(q, null));
  return {
    ok: r.ok,
    checked: r.count,
    head: r.head,
    ...(r.problem ? { firstBadSeq: r.problem.seq, reason: r.problem.reason } : {}),
  };
}
