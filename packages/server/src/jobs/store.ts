import { type KeyRing, openString, seal } from '@rampart/core/seal';
import type { Queryable } from '../db/types.js';
import { type AuditActor, appendAudit } from '../platform/audit/append.js';
import { AppError } from '../platform/errors.js';
import { newId } from '../platform/ids.js';
import type { OutboundPolicy } from '../platform/outbound/policy.js';
import { requireCredentialTransport } from '../platform/outbound/transport.js';
import { checkOutboundUrl } from '../platform/outbound/url.js';
import { nextRunAfter, parseSchedule } from './schedule.js';
import { checkHeaders, displayValue, type EnvAllow, isEnvRef, parseJobValue } from './values.js';

export const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD'] as const;
export type Method = (typeof METHODS)[number];
export type AuthType = 'bearer' | 'basic';

export interface JobFields {
  name: string;
  schedule: string;
  timezone: string;
  url: string;
  method: Method;
  headers: Record<string, string>;
  auth: { type: AuthType; value: string } | null;
  body: string | null;
  timeoutMs: number;
  retries: number;
  storeResponse: boolean;
  retentionDays: number | null;
  alertChannelIds: string[];
  alertAfter: number;
  enabled: boolean;
}

export type JobPatch = Partial<JobFields>;

export interface JobView extends Omit<JobFields, 'auth'> {
  id: string;
  auth: { type: AuthType; value: string } | null;
  nextRunAt: string | null;
  consecutiveFailures: number;
  createdAt: string;
  updatedAt: string;
}

export interface JobRow {
  id: string;
  org_id: string;
  name: string;
  schedule: string;
  timezone: string;
  url: string;
  method: Method;
  headers_sealed: string | null;
  headers_masked: Record<string, string>;
  auth_type: AuthType | null;
  auth_sealed: string | null;
  auth_masked: string | null;
  body: string | null;
  timeout_ms: number;
  retries: number;
  store_response: boolean;
  retention_days: number | null;
  alert_channel_ids: string[];
  alert_after: number;
  enabled: boolean;
  next_run_at: Date | null;
  consecutive_failures: number;
  alert_open: boolean;
  created_at: Date;
  updated_at: Date;
}

/** What the store needs from the server's configuration. */
export interface JobRules {
  envAllow: readonly EnvAllow[];
  outboundPolicy: OutboundPolicy;
  /** Jobs per org at most (each one is outbound traffic on the operator's behalf). */
  maxPerOrg: number;
}

export const DEFAULTS = { timezone: 'UTC', timeoutMs: 10_000, retries: 2, alertAfter: 1 } as const;

const sealCtx = (orgId: string, id: string, column: 'headers_sealed' | 'auth_sealed') => ({
  orgId,
  table: 'jobs',
  column,
  rowId: id,
});

export const jobView = (r: JobRow): JobView => ({
  id: r.id,
  name: r.name,
  schedule: r.schedule,
  timezone: r.timezone,
  url: r.url,
  method: r.method,
  headers: r.headers_masked,
  auth: r.auth_type ? { type: r.auth_type, value: r.auth_masked ?? '****' } : null,
  body: r.body,
  timeoutMs: r.timeout_ms,
  retries: r.retries,
  storeResponse: r.store_response,
  retentionDays: r.retention_days,
  alertChannelIds: r.alert_channel_ids,
  alertAfter: r.alert_after,
  enabled: r.enabled,
  nextRunAt: r.next_run_at?.toISOString() ?? null,
  consecutiveFailures: r.consecutive_failures,
  createdAt: r.created_at.toISOString(),
  updatedAt: r.updated_at.toISOString(),
});

/**
 * What the caller may do with a job's credentials. `writeSecrets` (the `secrets.write` action: owners and admins)
 * is needed to set an `env:` reference (it reads a server-held secret the caller never saw) and to keep the
 * stored headers and auth when the URL moves to another origin.
 */
export interface JobCaller {
  writeSecrets: boolean;
}

const originOf = (url: string): string => new URL(url).origin;

/** The plaintext header map and auth value of a job, for the moment a request is sent. */
export function openJobSecrets(
  ring: KeyRing,
  r: Pick<JobRow, 'id' | 'org_id' | 'headers_sealed' | 'auth_sealed'>,
): { headers: Record<string, string>; auth: string | null } {
  const headers = r.headers_sealed
    ? (JSON.parse(openString(ring, r.headers_sealed, sealCtx(r.org_id, r.id, 'headers_sealed'))) as Record<
        string,
        string
      >)
    : {};
  const auth = r.auth_sealed ? openString(ring, r.auth_sealed, sealCtx(r.org_id, r.id, 'auth_sealed')) : null;
  return { headers, auth };
}

function checkFields(f: JobFields, rules: JobRules, orgId: string): JobFields {
  const schedule = parseSchedule(f.schedule, f.timezone);
  const u = checkOutboundUrl(f.url, rules.outboundPolicy, { field: 'url', allowQuery: true });
  // Header values and auth are sealed because they are credentials: they do not travel over plain http.
  if (Object.keys(f.headers).length > 0 || f.auth) requireCredentialTransport(u, rules.outboundPolicy, 'url');
  const url = u.toString();
  checkHeaders(f.headers, rules.envAllow, orgId);
  const names = Object.keys(f.headers).map((h) => h.toLowerCase());
  if (f.auth) {
    if (names.includes('authorization'))
      throw new AppError('validation_failed', 'set either auth or an Authorization header, not both');
    const v = parseJobValue(f.auth.value, 'auth.value', rules.envAllow, orgId);
    if (f.auth.type === 'basic' && v.kind === 'literal' && !v.value.includes(':'))
      throw new AppError('validation_failed', 'auth.value for basic auth must be "user:password"');
    if (/[\r\n\0]/.test(f.auth.value))
      throw new AppError('validation_failed', 'auth.value contains control characters');
  }
  if (f.body !== null && (f.method === 'GET' || f.method === 'HEAD'))
    throw new AppError('validation_failed', `a ${f.method} request cannot have a body`);
  return { ...f, schedule: schedule.schedule, url };
}

/**
 * An `env:` reference resolves to a secret the server holds for the org; a caller without `secrets.write` could
 * otherwise point one at a URL of their own and read it from the request.
 * @throws AppError forbidden
 */
function checkEnvWriter(
  headers: Record<string, string> | undefined,
  auth: JobFields['auth'] | undefined,
  caller: JobCaller,
): void {
  if (caller.writeSecrets) return;
  const values = [...Object.values(headers ?? {}), ...(auth ? [auth.value] : [])];
  if (values.some(isEnvRef))
    throw new AppError(
      'forbidden',
      'only owners and admins (secrets.write) may set env: references; use a literal value, which is sealed',
    );
}

async function checkChannels(q: Queryable, orgId: string, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  const { rows } = await q.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM alert_channels WHERE org_id = $1 AND id = ANY($2::uuid[])',
    [orgId, [...new Set(ids)]],
  );
  // Another org's channel id is indistinguishable from a missing one.
  if ((rows[0]?.n ?? 0) !== new Set(ids).size)
    throw new AppError('validation_failed', 'alertChannelIds: unknown alert channel');
}

const maskedHeaders = (h: Record<string, string>): Record<string, string> =>
  Object.fromEntries(Object.entries(h).map(([k, v]) => [k, displayValue(v)]));

/**
 * The values of the job columns from `name` to `next_run_at`, in the order the INSERT and UPDATE list them.
 * Header and auth values are sealed afresh, unless `keep` passes the stored sealed and masked forms through.
 */
function rowValues(
  ring: KeyRing,
  orgId: string,
  id: string,
  f: JobFields,
  next: Date | null,
  keep: {
    headers?: Pick<JobRow, 'headers_sealed' | 'headers_masked'>;
    auth?: Pick<JobRow, 'auth_sealed' | 'auth_masked'>;
  } = {},
): unknown[] {
  const hasHeaders = Object.keys(f.headers).length > 0;
  return [
    f.name,
    f.schedule,
    f.timezone,
    f.url,
    f.method,
    keep.headers
      ? keep.headers.headers_sealed
      : hasHeaders
        ? seal(ring, JSON.stringify(f.headers), sealCtx(orgId, id, 'headers_sealed'))
        : null,
    JSON.stringify(keep.headers ? keep.headers.headers_masked : maskedHeaders(f.headers)),
    f.auth?.type ?? null,
    keep.auth
      ? keep.auth.auth_sealed
      : f.auth
        ? seal(ring, f.auth.value, sealCtx(orgId, id, 'auth_sealed'))
        : null,
    keep.auth ? keep.auth.auth_masked : f.auth ? displayValue(f.auth.value) : null,
    f.body,
    f.timeoutMs,
    f.retries,
    f.storeResponse,
    f.retentionDays,
    f.alertChannelIds,
    f.alertAfter,
    f.enabled,
    next,
  ];
}

const auditMeta = (f: JobFields) => ({
  name: f.name,
  schedule: f.schedule,
  timezone: f.timezone,
  method: f.method,
  host: new URL(f.url).host,
  headerNames: Object.keys(f.headers),
  authType: f.auth?.type ?? null,
  enabled: f.enabled,
});

/**
 * Creates a job. Header and auth values are sealed to (org, jobs, column, job id); their display forms are
 * stored beside them so reads never open a seal.
 * @throws AppError validation_failed | env_not_allowed
 */
export async function createJob(
  q: Queryable,
  ring: KeyRing,
  rules: JobRules,
  actor: AuditActor,
  orgId: string,
  input: JobFields,
  now: Date,
  caller: JobCaller,
): Promise<JobView> {
  checkEnvWriter(input.headers, input.auth, caller);
  const f = checkFields(input, rules, orgId);
  await checkChannels(q, orgId, f.alertChannelIds);
  // Serialise creations per org so concurrent requests cannot overshoot the cap.
  await q.query(`SELECT pg_advisory_xact_lock(hashtextextended('rampart.jobs.' || $1::text, 0))`, [orgId]);
  const { rows: count } = await q.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM jobs WHERE org_id = $1',
    [orgId],
  );
  if ((count[0]?.n ?? 0) >= rules.maxPerOrg)
    throw new AppError('quota_exceeded', `this org already has the maximum of ${rules.maxPerOrg} jobs`);
  const id = newId();
  const next = f.enabled ? nextRunAfter(f, now) : null;
  const { rows } = await q.query<JobRow>(
    `INSERT INTO jobs (id, org_id, name, schedule, timezone, url, method, headers_sealed, headers_masked, auth_type,
       auth_sealed, auth_masked, body, timeout_ms, retries, store_response, retention_days, alert_channel_ids,
       alert_after, enabled, next_run_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)
     RETURNING *`,
    [id, orgId, ...rowValues(ring, orgId, id, f, next)],
  );
  await appendAudit(q, actor, { orgId, action: 'job.created', target: `job:${id}`, meta: auditMeta(f) });
  return jobView(rows[0] as JobRow);
}

async function lockJob(q: Queryable, orgId: string, id: string): Promise<JobRow> {
  const { rows } = await q.query<JobRow>('SELECT * FROM jobs WHERE org_id = $1 AND id = $2 FOR UPDATE', [
    orgId,
    id,
  ]);
  const r = rows[0];
  if (!r) throw new AppError('not_found', 'Job not found');
  return r;
}

/**
 * Applies a partial update. `headers` and `auth`, when present, replace the stored values whole (they are
 * write-only: a client cannot read them back to merge); absent, the sealed values are kept untouched, except
 * when the URL moves to another origin (scheme, host or port) and the caller lacks `secrets.write`: then the
 * stored headers and auth are dropped (credentials set for one host must not follow a URL a member points
 * elsewhere), and the job keeps only what the patch sends.
 * @throws AppError not_found | validation_failed | env_not_allowed | forbidden
 */
export async function updateJob(
  q: Queryable,
  ring: KeyRing,
  rules: JobRules,
  actor: AuditActor,
  orgId: string,
  id: string,
  patch: JobPatch,
  now: Date,
  caller: JobCaller,
): Promise<JobView> {
  checkEnvWriter(patch.headers, patch.auth, caller);
  const r = await lockJob(q, orgId, id);
  let movedOrigin = false;
  if (patch.url !== undefined) {
    try {
      movedOrigin = originOf(patch.url) !== originOf(r.url);
    } catch {
      // An unparseable URL is refused by checkFields below.
    }
  }
  const drop = movedOrigin && !caller.writeSecrets;
  const kept = drop ? { headers: {}, auth: null } : openJobSecrets(ring, r);
  const merged: JobFields = {
    name: patch.name ?? r.name,
    schedule: patch.schedule ?? r.schedule,
    timezone: patch.timezone ?? r.timezone,
    url: patch.url ?? r.url,
    method: patch.method ?? r.method,
    headers: patch.headers ?? kept.headers,
    auth:
      patch.auth !== undefined
        ? patch.auth
        : r.auth_type && kept.auth !== null
          ? { type: r.auth_type, value: kept.auth }
          : null,
    body: patch.body !== undefined ? patch.body : r.body,
    timeoutMs: patch.timeoutMs ?? r.timeout_ms,
    retries: patch.retries ?? r.retries,
    storeResponse: patch.storeResponse ?? r.store_response,
    retentionDays: patch.retentionDays !== undefined ? patch.retentionDays : r.retention_days,
    alertChannelIds: patch.alertChannelIds ?? r.alert_channel_ids,
    alertAfter: patch.alertAfter ?? r.alert_after,
    enabled: patch.enabled ?? r.enabled,
  };
  const f = checkFields(merged, rules, orgId);
  if (patch.alertChannelIds) await checkChannels(q, orgId, f.alertChannelIds);
  const timing = patch.schedule !== undefined || patch.timezone !== undefined || patch.enabled !== undefined;
  const next = !f.enabled ? null : timing || !r.next_run_at ? nextRunAfter(f, now) : r.next_run_at;
  const { rows } = await q.query<JobRow>(
    `UPDATE jobs SET name = $3, schedule = $4, timezone = $5, url = $6, method = $7, headers_sealed = $8,
       headers_masked = $9, auth_type = $10, auth_sealed = $11, auth_masked = $12, body = $13, timeout_ms = $14,
       retries = $15, store_response = $16, retention_days = $17, alert_channel_ids = $18, alert_after = $19,
       enabled = $20, next_run_at = $21, updated_at = now()
     WHERE org_id = $1 AND id = $2 RETURNING *`,
    [
      orgId,
      id,
      ...rowValues(ring, orgId, id, f, next, {
        ...(patch.headers === undefined && !drop ? { headers: r } : {}),
        ...(patch.auth === undefined && !drop ? { auth: r } : {}),
      }),
    ],
  );
  await appendAudit(q, actor, {
    orgId,
    action: 'job.updated',
    target: `job:${id}`,
    meta: {
      ...auditMeta(f),
      changed: Object.keys(patch).sort(),
      ...(drop ? { sealedValuesDropped: 'url moved to another origin' } : {}),
    },
  });
  return jobView(rows[0] as JobRow);
}

export async function getJob(q: Queryable, orgId: string, id: string): Promise<JobView> {
  const { rows } = await q.query<JobRow>('SELECT * FROM jobs WHERE org_id = $1 AND id = $2', [orgId, id]);
  const r = rows[0];
  if (!r) throw new AppError('not_found', 'Job not found');
  return jobView(r);
}

export async function listJobs(q: Queryable, orgId: string): Promise<JobView[]> {
  const { rows } = await q.query<JobRow>('SELECT * FROM jobs WHERE org_id = $1 ORDER BY created_at, id', [
    orgId,
  ]);
  return rows.map(jobView);
}

export async function deleteJob(q: Queryable, actor: AuditActor, orgId: string, id: string): Promise<void> {
  const { rows } = await q.query<{ name: string }>(
    'DELETE FROM jobs WHERE org_id = $1 AND id = $2 RETURNING name',
    [orgId, id],
  );
  if (!rows[0]) throw new AppError('not_found', 'Job not found');
  await appendAudit(q, actor, {
    orgId,
    action: 'job.deleted',
    target: `job:${id}`,
    meta: { name: rows[0].name },
  });
}

/** Queues a manual run; any runner node claims it (compare-and-set on status) and runs it once. */
export async function queueRun(
  q: Queryable,
  actor: AuditActor,
  orgId: string,
  jobId: string,
  now: Date,
): Promise<{ id: string; status: 'queued' }> {
  const { rows } = await q.query<{ id: string }>('SELECT id FROM jobs WHERE org_id = $1 AND id = $2', [
    orgId,
    jobId,
  ]);
  if (!rows[0]) throw new AppError('not_found', 'Job not found');
  const id = newId();
  await q.query(
    `INSERT INTO job_runs (id, org_id, job_id, trigger, scheduled_for, status) VALUES ($1, $2, $3, 'manual', $4, 'queued')`,
    [id, orgId, jobId, now],
  );
  await appendAudit(q, actor, {
    orgId,
    action: 'job.run_requested',
    target: `job:${jobId}`,
    meta: { runId: id },
  });
  return { id, status: 'queued' };
}

export interface RunView {
  id: string;
  trigger: 'schedule' | 'manual';
  scheduledFor: string;
  startedAt: string | null;
  durationMs: number | null;
  status: 'queued' | 'running' | 'succeeded' | 'failed';
  httpStatus: number | null;
  attempts: number;
  error: string | null;
  snippet?: string;
}

interface RunRow {
  id: string;
  trigger: 'schedule' | 'manual';
  scheduled_for: Date;
  started_at: Date | null;
  duration_ms: number | null;
  status: RunView['status'];
  http_status: number | null;
  attempts: number;
  error: string | null;
  snippet: string | null;
}

const runView = (r: RunRow): RunView => ({
  id: r.id,
  trigger: r.trigger,
  scheduledFor: r.scheduled_for.toISOString(),
  startedAt: r.started_at?.toISOString() ?? null,
  durationMs: r.duration_ms,
  status: r.status,
  httpStatus: r.http_status,
  attempts: r.attempts,
  error: r.error,
  ...(r.snippet !== null ? { snippet: r.snippet } : {}),
});

/** Newest first; `before` (an ISO time) pages backwards by scheduled time. */
export async function listRuns(
  q: Queryable,
  orgId: string,
  jobId: string,
  opts: { limit: number; before?: Date | undefined },
): Promise<RunView[]> {
  const job = await q.query('SELECT 1 FROM jobs WHERE org_id = $1 AND id = $2', [orgId, jobId]);
  if (job.rowCount === 0) throw new AppError('not_found', 'Job not found');
  const { rows } = await q.query<RunRow>(
    `SELECT id, trigger, scheduled_for, started_at, duration_ms, status, http_status, attempts, error, snippet
       FROM job_runs WHERE org_id = $1 AND job_id = $2 AND ($3::timestamptz IS NULL OR scheduled_for < $3)
      ORDER BY scheduled_for DESC, id LIMIT $4`,
    [orgId, jobId, opts.before ?? null, opts.limit],
  );
  return rows.map(runView);
}
