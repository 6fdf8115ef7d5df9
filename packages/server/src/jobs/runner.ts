import type { KeyRing } from '@rampart/core/seal';
import type { Logger } from 'pino';
import type { Database } from '../db/database.js';
import type { Queryable } from '../db/types.js';
import { appendAudit } from '../platform/audit/append.js';
import { newId } from '../platform/ids.js';
import type { GuardedAgent } from '../platform/outbound/dispatcher.js';
import { guardedFetch } from '../platform/outbound/fetch.js';
import type { OutboundPolicy } from '../platform/outbound/policy.js';
import { credentialTransport } from '../platform/outbound/transport.js';
import { deliverAlert, type JobAlert, queueEmailAlert } from './alerts.js';
import { type OpenChannel, openChannels } from './channels.js';
import { nextRunAfter } from './schedule.js';
import { credentialParts, SCRUB_MARGIN_BYTES, SNIPPET_BYTES, snippetOf } from './snippet.js';
import { type JobRow, openJobSecrets } from './store.js';
import { type EnvAllow, EnvResolutionError, resolveJobValue } from './values.js';

export interface RunnerOptions {
  db: Database;
  ring: KeyRing;
  logger: Logger;
  /** The guarded outbound agent: every connection is vetted against the SSRF policy. */
  outbound: GuardedAgent;
  /** The operator allow-list, for the plain-http rule on requests that carry credentials. */
  outboundPolicy: OutboundPolicy;
  envAllow: readonly EnvAllow[];
  env?: NodeJS.ProcessEnv;
  pollMs: number;
  /** Runs in flight on this node at most. */
  concurrency: number;
  /**
   * Runs of one org in flight on this node at most, so one org's slow or hanging targets cannot take every slot
   * and delay other orgs' schedules (the rest of the slots stay free for them).
   */
  maxInFlightPerOrg: number;
  retryBaseMs: number;
  retryMaxMs: number;
  sweepMs: number;
  /** Tests move time; production uses the wall clock. */
  clock?: () => Date;
  version: string;
}

const SWEEP_BATCH = 1_000;
/** Extra lease beyond the worst-case run time before another node may declare a run abandoned. */
const LEASE_MARGIN_MS = 60_000;

interface Claimed {
  runId: string;
  job: JobRow;
  scheduledFor: Date;
  trigger: 'schedule' | 'manual';
}

interface Outcome {
  status: 'succeeded' | 'failed';
  httpStatus: number | null;
  attempts: number;
  error: string | null;
  snippet: string | null;
  durationMs: number;
}

export interface SweepResult {
  deleted: number;
}

/**
 * The scheduled-job runner. Every node runs one; they share nothing but PostgreSQL.
 *
 * Claiming: `rampart_job_work` (SECURITY DEFINER) lists candidate ids across orgs without locking, rank by rank
 * within each org (every org's first due job before any org's second) and at most the per-org cap of each; the
 * runner skips an org that already has `maxInFlightPerOrg` runs in flight on this node, so one org's hanging
 * targets hold at most that many slots and the others keep serving every other org on time. The runner
 * then claims its share in each org's own context, under RLS: due jobs with `FOR UPDATE SKIP LOCKED` and a
 * re-checked `next_run_at <= now`, advancing `next_run_at` and inserting the run row in the same transaction
 * (a unique index on (job, slot) backs this up); queued manual runs with a compare-and-set on their status.
 * So each slot and each manual run is executed by exactly one node.
 *
 * Catch-up: a job whose slots passed while every node was down runs once, for the earliest missed slot, and
 * its next run is the first slot after now (missed slots are coalesced, not replayed).
 *
 * Crashes: a run carries a lease (timeout × attempts + back-off + a margin). A run still `running` past its
 * lease belonged to a node that died; any node marks it failed (`abandoned`) and never re-sends it, since the
 * target may already have received it (at most once per slot beats twice).
 */
export class JobRunner {
  readonly #o: RunnerOptions;
  readonly #clock: () => Date;
  readonly #env: NodeJS.ProcessEnv;
  #inFlight = new Set<Promise<void>>();
  readonly #inFlightByOrg = new Map<string, number>();
  #timer: NodeJS.Timeout | null = null;
  #sweepTimer: NodeJS.Timeout | null = null;
  #stopped = true;
  #loop: Promise<void> | null = null;
  #wake: (() => void) | null = null;
  #backlog = false;

  constructor(opts: RunnerOptions) {
    this.#o = opts;
    this.#clock = opts.clock ?? (() => new Date());
    this.#env = opts.env ?? process.env;
  }

  /** Starts polling (and the retention sweeper). */
  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#loop = this.#run();
    this.#sweepTimer = setInterval(() => {
      this.sweep().catch((err) => this.#o.logger.error({ err }, 'job history sweep failed'));
    }, this.#o.sweepMs);
    this.#sweepTimer.unref();
  }

  /** Stops claiming and waits for runs in flight (they are not abandoned on a clean shutdown). */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#sweepTimer) clearInterval(this.#sweepTimer);
    this.#wake?.();
    await this.#loop;
    await Promise.allSettled([...this.#inFlight]);
  }

  /** Asks the loop to look for work now (after a manual "run now"). */
  kick(): void {
    this.#wake?.();
  }

  /** One claim pass at `now`, waiting for the runs it started. Returns how many runs it executed. */
  async tick(now: Date = this.#clock()): Promise<number> {
    const { started } = await this.#claimAndStart(now, this.#o.concurrency);
    await Promise.allSettled(started);
    return started.length;
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      const free = this.#o.concurrency - this.#inFlight.size;
      // Saturated: assume work is waiting, so the next finished run wakes the loop to look.
      let backlog = free <= 0;
      let again = false;
      if (free > 0) {
        try {
          const r = await this.#claimAndStart(this.#clock(), free);
          backlog = r.backlog;
          again = r.again;
        } catch (err) {
          this.#o.logger.error({ err }, 'job runner: claim failed');
        }
      }
      // More work is waiting, this pass made progress and a slot is free: go again at once. (Work of orgs at
      // their cap is waiting too, but going again would only spin: their finished runs wake the loop.)
      if (again && this.#inFlight.size < this.#o.concurrency) continue;
      // Otherwise sleep until the poll interval, a kick(), or, with a backlog, the next finished run.
      this.#backlog = backlog;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        this.#timer = setTimeout(resolve, this.#o.pollMs);
        this.#timer.unref();
      });
      this.#wake = null;
    }
  }

  /**
   * One claim pass for up to `limit` runs. Candidates are fetched four times over so that nodes racing for the
   * same first rows (each skips the others' locked ones) still find work in one pass. `backlog` says more may
   * be waiting (a finished run should wake the loop); `again` that the pass made progress and the candidate
   * list was full, so another pass may find more at once. An org at its in-flight cap is skipped. A failed
   * claim in one org (for instance a conflict with another node) is rolled back, logged and skipped; other orgs
   * still run.
   */
  async #claimAndStart(
    now: Date,
    limit: number,
  ): Promise<{ started: Promise<void>[]; backlog: boolean; again: boolean }> {
    if (limit <= 0) return { started: [], backlog: true, again: false };
    const candidates = Math.min(1_000, limit * 4);
    const perOrg = this.#o.maxInFlightPerOrg;
    const { rows } = await this.#o.db.tx({ orgId: null }, (q) =>
      q.query<{ kind: 'due' | 'queued' | 'stale'; org_id: string; id: string }>(
        'SELECT kind, org_id::text AS org_id, id::text AS id FROM rampart_job_work($1, $2, $3)',
        [now, candidates, perOrg],
      ),
    );
    const byOrg = new Map<string, { due: string[]; queued: string[]; stale: string[] }>();
    const perKind = { due: 0, queued: 0, stale: 0 };
    for (const r of rows) {
      const g = byOrg.get(r.org_id) ?? { due: [], queued: [], stale: [] };
      g[r.kind].push(r.id);
      perKind[r.kind]++;
      byOrg.set(r.org_id, g);
    }
    const started: Promise<void>[] = [];
    let room = limit;
    let capped = false;
    for (const [orgId, g] of byOrg) {
      if (room <= 0) break;
      const orgRoom = Math.min(room, perOrg - (this.#inFlightByOrg.get(orgId) ?? 0));
      if (orgRoom < g.due.length + g.queued.length) capped = true;
      // At its cap: only stale runs (marked failed, nothing sent) are handled for this org.
      if (orgRoom <= 0 && g.stale.length === 0) continue;
      const slots = Math.max(0, orgRoom);
      let claimed: Claimed[];
      try {
        claimed = await this.#o.db.org(orgId, (q) =>
          this.#claimInOrg(q, orgId, slots > 0 ? g : { due: [], queued: [], stale: g.stale }, now, slots),
        );
      } catch (err) {
        this.#o.logger.warn({ err, orgId }, 'job runner: claim in one org failed and was rolled back');
        continue;
      }
      room -= claimed.length;
      for (const c of claimed) started.push(this.#track(this.#execute(c), orgId));
    }
    const full = perKind.due >= candidates || perKind.queued >= candidates || perKind.stale >= candidates;
    return {
      started,
      backlog: full || room === 0 || capped,
      again: (full && started.length > 0) || room === 0,
    };
  }

  #track(p: Promise<void>, orgId: string): Promise<void> {
    const t = p.catch((err) => this.#o.logger.error({ err }, 'job run failed unexpectedly'));
    this.#inFlight.add(t);
    this.#inFlightByOrg.set(orgId, (this.#inFlightByOrg.get(orgId) ?? 0) + 1);
    t.finally(() => {
      this.#inFlight.delete(t);
      const n = (this.#inFlightByOrg.get(orgId) ?? 1) - 1;
      if (n > 0) this.#inFlightByOrg.set(orgId, n);
      else this.#inFlightByOrg.delete(orgId);
      // A slot is free and work was left over: claim now rather than at the next poll.
      if (this.#backlog) this.#wake?.();
    });
    return t;
  }

  #leaseUntil(job: JobRow, now: Date): Date {
    const attempts = job.retries + 1;
    let backoff = 0;
    for (let i = 1; i < attempts; i++) backoff += this.#delay(i);
    return new Date(now.getTime() + job.timeout_ms * attempts + backoff + LEASE_MARGIN_MS);
  }

  async #claimInOrg(
    q: Queryable,
    orgId: string,
    g: { due: string[]; queued: string[]; stale: string[] },
    now: Date,
    room: number,
  ): Promise<Claimed[]> {
    const out: Claimed[] = [];
    if (g.stale.length) {
      await q.query(
        `UPDATE job_runs SET status = 'failed', error = 'abandoned: the node running it stopped before it finished',
           duration_ms = GREATEST(0, (extract(epoch FROM ($3::timestamptz - started_at)) * 1000)::int)
          WHERE org_id = $1 AND id = ANY($2::uuid[]) AND status = 'running' AND lease_until < $3`,
        [orgId, g.stale, now],
      );
    }
    // Re-checked under a share lock on the org row: a suspension (an UPDATE of that row) commits either before
    // this claim, which then starts nothing, or after it, when these runs were already in flight. Discovery
    // (rampart_job_work) skips suspended orgs too; this closes the window between the two.
    if (g.due.length || g.queued.length) {
      const org = await q.query<{ suspended: boolean }>(
        'SELECT suspended_at IS NOT NULL AS suspended FROM orgs WHERE id = $1 FOR SHARE',
        [orgId],
      );
      if (org.rows[0]?.suspended !== false) return out;
    }
    if (g.due.length) {
      const { rows } = await q.query<JobRow>(
        `SELECT * FROM jobs WHERE org_id = $1 AND id = ANY($2::uuid[]) AND enabled AND next_run_at <= $3
          ORDER BY next_run_at LIMIT $4 FOR UPDATE SKIP LOCKED`,
        [orgId, g.due, now, room],
      );
      for (const job of rows) {
        const slot = job.next_run_at as Date;
        const next = nextRunAfter(job, now);
        await q.query('UPDATE jobs SET next_run_at = $3 WHERE org_id = $1 AND id = $2', [
          orgId,
          job.id,
          next,
        ]);
        const ins = await q.query<{ id: string }>(
          `INSERT INTO job_runs (id, org_id, job_id, trigger, scheduled_for, status, started_at, lease_until, attempts)
           VALUES ($1, $2, $3, 'schedule', $4, 'running', $5, $6, 0)
           ON CONFLICT (job_id, scheduled_for) WHERE trigger = 'schedule' DO NOTHING RETURNING id`,
          [newId(), orgId, job.id, slot, now, this.#leaseUntil(job, now)],
        );
        const runId = ins.rows[0]?.id;
        if (runId) out.push({ runId, job, scheduledFor: slot, trigger: 'schedule' });
      }
    }
    if (g.queued.length && out.length < room) {
      const { rows } = await q.query<JobRow & { run_id: string; run_scheduled_for: Date }>(
        `SELECT j.*, r.id::text AS run_id, r.scheduled_for AS run_scheduled_for
           FROM job_runs r JOIN jobs j ON j.id = r.job_id
          WHERE r.org_id = $1 AND r.id = ANY($2::uuid[]) AND r.status = 'queued'
          ORDER BY r.created_at LIMIT $3 FOR UPDATE OF r SKIP LOCKED`,
        [orgId, g.queued, room - out.length],
      );
      for (const row of rows) {
        const { run_id, run_scheduled_for, ...job } = row;
        await q.query(
          `UPDATE job_runs SET status = 'running', started_at = $3, lease_until = $4 WHERE org_id = $1 AND id = $2`,
          [orgId, run_id, now, this.#leaseUntil(job, now)],
        );
        out.push({ runId: run_id, job, scheduledFor: run_scheduled_for, trigger: 'manual' });
      }
    }
    return out;
  }

  /** Exponential back-off before retry n: base × 2^(n-1), capped (the caller adds jitter in [0.5, 1]). */
  #delay(attempt: number): number {
    return Math.min(this.#o.retryMaxMs, this.#o.retryBaseMs * 2 ** (attempt - 1));
  }

  async #execute(c: Claimed): Promise<void> {
    const t0 = performance.now();
    const outcome = await this.#send(c).catch(
      (err: unknown): Omit<Outcome, 'durationMs'> => ({
        status: 'failed',
        httpStatus: null,
        attempts: 0,
        error:
          err instanceof EnvResolutionError || err instanceof RefusedError
            ? err.message
            : 'could not prepare the request',
        snippet: null,
      }),
    );
    const done: Outcome = { ...outcome, durationMs: Math.round(performance.now() - t0) };
    if (done.status === 'failed')
      this.#o.logger.warn(
        { jobId: c.job.id, runId: c.runId, httpStatus: done.httpStatus, error: done.error },
        'job run failed',
      );
    const alerts = await this.#o.db.org(c.job.org_id, (q) => this.#record(q, c, done));
    for (const a of alerts) await this.#alert(a.channel, a.alert, c.job.org_id);
  }

  async #send(c: Claimed): Promise<Omit<Outcome, 'durationMs'>> {
    const { job } = c;
    const allow = this.#o.envAllow;
    const secrets = openJobSecrets(this.#o.ring, job);
    // Checked again at send time (a job saved before the rule, or an allow-list narrowed since): credentials
    // never go out over plain http to a host that is neither loopback nor operator allow-listed.
    if (Object.keys(secrets.headers).length > 0 || secrets.auth !== null) {
      const v = credentialTransport(new URL(job.url), this.#o.outboundPolicy);
      if (!v.ok) throw new RefusedError(`refused: ${v.reason}`);
    }
    const headers: Record<string, string> = {};
    const secretValues: string[] = [];
    for (const [k, raw] of Object.entries(secrets.headers)) {
      const v = resolveJobValue(raw, allow, job.org_id, this.#env);
      headers[k.toLowerCase()] = v;
      secretValues.push(v, ...credentialParts(v));
    }
    if (job.auth_type && secrets.auth !== null) {
      const v = resolveJobValue(secrets.auth, allow, job.org_id, this.#env);
      const encoded = job.auth_type === 'basic' ? Buffer.from(v, 'utf8').toString('base64') : v;
      headers.authorization = `${job.auth_type === 'basic' ? 'Basic' : 'Bearer'} ${encoded}`;
      secretValues.push(v, encoded);
      // The password alone too: a server that decodes Basic may echo it back by itself ("bad password 'p'").
      if (job.auth_type === 'basic' && v.includes(':')) secretValues.push(v.slice(v.indexOf(':') + 1));
    }
    headers['user-agent'] ??= `Rampart-Jobs/${this.#o.version}`;
    headers['x-rampart-run-id'] = c.runId;
    if (job.body !== null && !headers['content-type'])
      headers['content-type'] = looksLikeJson(job.body) ? 'application/json' : 'text/plain; charset=utf-8';

    const maxAttempts = job.retries + 1;
    let last: Omit<Outcome, 'durationMs'> = {
      status: 'failed',
      httpStatus: null,
      attempts: 0,
      error: 'not sent',
      snippet: null,
    };
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      if (attempt > 1) await sleep(this.#delay(attempt - 1) * (0.5 + Math.random() / 2));
      let retryable: boolean;
      try {
        const res = await guardedFetch(this.#o.outbound, job.url, {
          method: job.method,
          headers,
          ...(job.body !== null ? { body: job.body } : {}),
          timeoutMs: job.timeout_ms,
          maxBytes: job.store_response ? SNIPPET_BYTES + SCRUB_MARGIN_BYTES : 0,
          sensitiveHeaders: Object.keys(secrets.headers),
        });
        const ok = res.status < 400;
        last = {
          status: ok ? 'succeeded' : 'failed',
          httpStatus: res.status,
          attempts: attempt,
          error: ok ? null : `HTTP ${res.status}`,
          snippet: job.store_response ? snippetOf(res.body, secretValues) : null,
        };
        retryable = res.status >= 500;
      } catch (err) {
        const e = classify(err);
        last = { status: 'failed', httpStatus: null, attempts: attempt, error: e.error, snippet: null };
        retryable = e.retryable;
      }
      if (last.status === 'succeeded' || !retryable) break;
    }
    return last;
  }

  /** Stores the outcome and updates the job's failure streak; returns the alerts to send (after commit). */
  async #record(
    q: Queryable,
    c: Claimed,
    o: Outcome,
  ): Promise<Array<{ channel: OpenChannel; alert: JobAlert }>> {
    const upd = await q.query(
      `UPDATE job_runs SET status = $3, duration_ms = $4, attempts = $5, http_status = $6, error = $7, snippet = $8,
         lease_until = NULL WHERE org_id = $1 AND id = $2`,
      [
        c.job.org_id,
        c.runId,
        o.status,
        o.durationMs,
        o.attempts,
        o.httpStatus,
        o.error?.slice(0, 500) ?? null,
        o.snippet,
      ],
    );
    if (upd.rowCount === 0) return []; // the job (and its history) was deleted meanwhile
    const { rows } = await q.query<{
      consecutive_failures: number;
      alert_open: boolean;
      alert_after: number;
      alert_channel_ids: string[];
      name: string;
    }>(
      `SELECT consecutive_failures, alert_open, alert_after, alert_channel_ids, name FROM jobs
        WHERE org_id = $1 AND id = $2 FOR UPDATE`,
      [c.job.org_id, c.job.id],
    );
    const j = rows[0];
    if (!j) return [];
    const failures = o.status === 'failed' ? j.consecutive_failures + 1 : 0;
    let kind: JobAlert['type'] | null = null;
    if (o.status === 'failed' && !j.alert_open && failures >= j.alert_after) kind = 'job.failed';
    if (o.status === 'succeeded' && j.alert_open) kind = 'job.recovered';
    const alertOpen = kind === 'job.failed' ? true : kind === 'job.recovered' ? false : j.alert_open;
    await q.query(
      'UPDATE jobs SET consecutive_failures = $3, alert_open = $4 WHERE org_id = $1 AND id = $2',
      [c.job.org_id, c.job.id, failures, alertOpen],
    );
    if (!kind || j.alert_channel_ids.length === 0) return [];
    const alert: JobAlert = {
      type: kind,
      orgId: c.job.org_id,
      jobId: c.job.id,
      jobName: j.name,
      runId: c.runId,
      scheduledFor: c.scheduledFor.toISOString(),
      httpStatus: o.httpStatus,
      error: o.error,
      consecutiveFailures: failures,
    };
    const channels = await openChannels(q, this.#o.ring, c.job.org_id, j.alert_channel_ids);
    const http: Array<{ channel: OpenChannel; alert: JobAlert }> = [];
    for (const channel of channels) {
      // E-mail goes into the outbox in this transaction; HTTP channels are called after the commit.
      if (channel.type === 'email') await queueEmailAlert(q, this.#o.ring, channel, alert);
      else http.push({ channel, alert });
    }
    return http;
  }

  async #alert(channel: OpenChannel, alert: JobAlert, orgId: string): Promise<void> {
    let ok = true;
    try {
      await deliverAlert(channel, alert, {
        outbound: this.#o.outbound,
        policy: this.#o.outboundPolicy,
      });
    } catch (err) {
      ok = false;
      this.#o.logger.warn(
        { channelId: channel.id, jobId: alert.jobId, reason: (err as Error).message },
        'alert delivery failed',
      );
    }
    await this.#o.db
      .org(orgId, (q) =>
        appendAudit(
          q,
          {},
          {
            orgId,
            action: ok ? 'job.alert_sent' : 'job.alert_failed',
            target: `job:${alert.jobId}`,
            meta: { channelId: channel.id, channelType: channel.type, alert: alert.type, runId: alert.runId },
          },
        ),
      )
      .catch((err) => this.#o.logger.error({ err }, 'could not audit an alert delivery'));
  }

  /**
   * Deletes finished runs older than their job's retention (or the org's), in batches of 1,000 rows, each its
   * own transaction, org by org (under RLS). Queued and running runs are never swept.
   */
  async sweep(now: Date = this.#clock()): Promise<SweepResult> {
    let deleted = 0;
    for (const orgId of await this.#o.db.orgIds()) {
      for (;;) {
        const n = await this.#o.db.org(orgId, async (q) => {
          const res = await q.query(
            `DELETE FROM job_runs WHERE id IN (
               SELECT r.id FROM job_runs r JOIN jobs j ON j.id = r.job_id JOIN orgs o ON o.id = r.org_id
                WHERE r.org_id = $1 AND r.status IN ('succeeded', 'failed')
                  AND r.created_at < $2::timestamptz - make_interval(days => coalesce(j.retention_days, o.retention_days))
                LIMIT $3)`,
            [orgId, now, SWEEP_BATCH],
          );
          return res.rowCount;
        });
        deleted += n;
        if (n < SWEEP_BATCH) break;
      }
    }
    if (deleted) this.#o.logger.info({ deleted }, 'job history swept');
    return { deleted };
  }
}

/** A run refused before sending; its message is safe to store (it names no value). */
class RefusedError extends Error {}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function looksLikeJson(s: string): boolean {
  try {
    JSON.parse(s);
    return true;
  } catch {
    return false;
  }
}

/** A short, secret-free description of a transport failure and whether it is worth retrying. */
function classify(err: unknown): { error: string; retryable: boolean } {
  const chain: unknown[] = [];
  for (let e: unknown = err; e && chain.length < 5; e = (e as { cause?: unknown }).cause) chain.push(e);
  const names = chain.map((e) => (e as { name?: string; code?: string }).name ?? '');
  const codes = chain.map((e) => (e as { code?: string }).code ?? '');
  if (codes.includes('OUTBOUND_BLOCKED')) {
    const blocked = chain.find((e) => (e as { code?: string }).code === 'OUTBOUND_BLOCKED') as Error;
    return { error: `blocked: ${blocked.message}`.slice(0, 300), retryable: false };
  }
  if (
    names.includes('TimeoutError') ||
    names.includes('AbortError') ||
    codes.includes('UND_ERR_CONNECT_TIMEOUT')
  )
    return { error: 'timeout', retryable: true };
  if ((err as Error).message === 'too many redirects')
    return { error: 'too many redirects', retryable: false };
  const code = codes.find((c) => /^[A-Z_]+$/.test(c));
  return { error: `network error${code ? ` (${code})` : ''}`, retryable: true };
}
