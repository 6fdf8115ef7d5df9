// One runner instance of the jobs bench: a worker thread with its own Rampart (its own event loop, database
// pool and outbound agent, as a separate node would have), driven by messages from bench/jobs/index.ts.
// Started only through `Instance.start()` (instance.ts).
import { parentPort, workerData } from 'node:worker_threads';
import { Agent, fetch as undiciFetch } from 'undici';
import { type Rampart, VERSION } from '../../packages/server/src/app.js';
import { newId } from '../../packages/server/src/platform/ids.js';
import { guardedFetch } from '../../packages/server/src/platform/outbound/fetch.js';
import { profileThread, selfTimeByCategory } from '../lib/cpu-profile.js';
import { createBenchRampart } from '../lib/rampart.js';
import { rampartCategoriser } from '../lib/rampart-profile.js';
import type { Command, DrainResult, HttpResult, InstanceConfig, RunRows, SetupResult } from './protocol.js';

const port = parentPort;
if (port === null) throw new Error('instance-worker.ts runs as a worker thread only');
const cfg = workerData as InstanceConfig;

const rampart: Rampart = await createBenchRampart({
  RAMPART_SIGNUP_PER_IP_PER_HOUR: '100000',
  // The bench drives the runner itself: tick() at chosen times, or start()/stop() for the poll loop.
  RAMPART_JOB_RUNNER: 'off',
  RAMPART_JOB_CONCURRENCY: String(cfg.concurrency),
  // Dispatch capacity, not fairness: let one org fill every slot (the per-org cap, 4 by default, would leave
  // slots of the 64-slot runs idle with 10 orgs; jobs-fairness.test.ts covers the cap).
  RAMPART_JOB_MAX_INFLIGHT_PER_ORG: String(cfg.concurrency),
  ...(cfg.databaseUrl ? { DATABASE_URL: cfg.databaseUrl } : {}),
});
const { db, jobRunner } = rampart.services;

async function api(method: 'POST', url: string, payload: unknown, token?: string) {
  const r = await rampart.app.inject({
    method,
    url,
    payload: payload as Record<string, unknown>,
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  if (r.statusCode >= 300) throw new Error(`${method} ${url}: ${r.statusCode} ${r.body}`);
  return r.json() as Record<string, unknown>;
}

async function setup(orgs: number, jobsPerOrg: number, url: string, body: string): Promise<SetupResult> {
  const orgIds: string[] = [];
  for (let i = 0; i < orgs; i++) {
    const s = await api('POST', '/api/auth/signup', {
      email: `jobs-bench-${i}@example.com`,
      password: 'scheduled job bench password 1',
      orgName: `Jobs Bench ${i}`,
    });
    const orgId = String(s.orgId);
    const job = await api(
      'POST',
      `/api/orgs/${orgId}/jobs`,
      { name: 'job-0', schedule: '* * * * *', url, method: 'POST', body },
      String(s.token),
    );
    // The rest are copies of the job the API created (no sealed values, so nothing is bound to its id).
    const ids = Array.from({ length: jobsPerOrg - 1 }, () => newId());
    await db.org(orgId, (q) =>
      q.query(
        `INSERT INTO jobs (id, org_id, name, schedule, timezone, url, method, headers_masked, body, timeout_ms, retries,
           store_response, retention_days, alert_channel_ids, alert_after, enabled, next_run_at)
         SELECT u.id, j.org_id, 'job-' || u.n, j.schedule, j.timezone, j.url, j.method, j.headers_masked, j.body,
           j.timeout_ms, j.retries, j.store_response, j.retention_days, j.alert_channel_ids, j.alert_after, j.enabled,
           j.next_run_at
           FROM jobs j, unnest($3::uuid[]) WITH ORDINALITY AS u(id, n) WHERE j.org_id = $1 AND j.id = $2`,
        [orgId, job.id, ids],
      ),
    );
    orgIds.push(orgId);
  }
  return { orgIds };
}

/** Whether the runner's work query still lists anything at `now` (what its next poll would find). */
async function workListed(now: Date): Promise<boolean> {
  const { rows } = await db.tx({ orgId: null }, (q) =>
    q.query('SELECT kind FROM rampart_job_work($1, 1)', [now]),
  );
  return rows.length > 0;
}

const categorise = rampartCategoriser({
  undici: 'undici (the call to the target)',
  packages: [
    [/\/node_modules\/croner\//, 'croner (next fire time)'],
    [/\/node_modules\/(pino|pino-[a-z-]+|sonic-boom|thread-stream)\//, 'pino (silent)'],
  ],
  node: 'Node.js core on its own (sockets, timers, streams)',
});

/** A drain that keeps finding listed but unclaimable work gives up rather than spinning forever. */
const MAX_EMPTY_IN_A_ROW = 10_000;

async function drain(now: Date, profile: boolean): Promise<DrainResult> {
  const loop = async () => {
    let runs = 0;
    let ticks = 0;
    let emptyTicks = 0;
    let emptyInARow = 0;
    const errors: Record<string, number> = {};
    const t0 = performance.now();
    for (;;) {
      let n = 0;
      try {
        n = await jobRunner.tick(now);
      } catch (err) {
        // The poll loop logs a failed claim pass and polls again; so does the bench, and reports it.
        const msg = err instanceof Error ? err.message : String(err);
        errors[msg] = (errors[msg] ?? 0) + 1;
      }
      ticks++;
      runs += n;
      if (n > 0) {
        emptyInARow = 0;
        continue;
      }
      // Another instance may hold the listed jobs locked (its claim not yet committed): look again.
      if (!(await workListed(now))) break;
      emptyTicks++;
      if (++emptyInARow > MAX_EMPTY_IN_A_ROW)
        throw new Error(`work still listed after ${MAX_EMPTY_IN_A_ROW} claim passes that claimed nothing`);
    }
    // Runs a failed pass had already started are not awaited by tick(); stop() waits for everything in flight.
    await jobRunner.stop();
    return { runs, ticks, emptyTicks, errors, wallMs: performance.now() - t0 };
  };
  if (!profile) return loop();
  const { result, profile: p } = await profileThread(loop);
  return { ...result, profile: [...selfTimeByCategory(p, categorise)] };
}

/** A `next_run_at` no round reaches (virtual time stays in 2025, the poll loop uses the wall clock). */
const PARKED = new Date('2100-01-01T00:00:00Z');

/** Makes the jobs of the first `orgs` orgs (all when null) due at `slot`, and parks the others. */
async function setDue(slot: Date, orgs: number | null): Promise<void> {
  const ids = await db.orgIds();
  for (const [k, orgId] of ids.entries()) {
    const at = orgs === null || k < orgs ? slot : PARKED;
    await db.org(orgId, (q) => q.query('UPDATE jobs SET next_run_at = $2 WHERE org_id = $1', [orgId, at]));
  }
}

async function retarget(url: string): Promise<void> {
  for (const orgId of await db.orgIds())
    await db.org(orgId, (q) => q.query('UPDATE jobs SET url = $2 WHERE org_id = $1', [orgId, url]));
}

async function runs(slot: Date | null, since: Date | null): Promise<RunRows> {
  const ids: string[] = [];
  const statuses: Record<string, number> = {};
  const errors: Record<string, number> = {};
  const durationsMs: number[] = [];
  for (const orgId of await db.orgIds()) {
    const { rows } = await db.org(orgId, (q) =>
      q.query<{ id: string; status: string; error: string | null; duration_ms: number | null }>(
        `SELECT id::text AS id, status, error, duration_ms FROM job_runs
          WHERE org_id = $1 AND trigger = 'schedule'
            AND ($2::timestamptz IS NULL OR scheduled_for = $2) AND ($3::timestamptz IS NULL OR started_at >= $3)`,
        [orgId, slot, since],
      ),
    );
    for (const r of rows) {
      ids.push(r.id);
      statuses[r.status] = (statuses[r.status] ?? 0) + 1;
      if (r.error !== null) {
        const kind = /^[a-z ]+/i.exec(r.error)?.[0].trim() ?? r.error;
        errors[kind] = (errors[kind] ?? 0) + 1;
      }
      if (r.duration_ms !== null) durationsMs.push(r.duration_ms);
    }
  }
  return { ids, statuses, errors, durationsMs };
}

const plainAgent = new Agent({ keepAliveTimeout: 60_000 });

async function http(cmd: Extract<Command, { op: 'http' }>): Promise<HttpResult> {
  let next = 0;
  let failed = 0;
  const send = async (i: number) => {
    const headers = {
      'content-type': 'application/json',
      'user-agent': `Rampart-Jobs/${VERSION}`,
      'x-rampart-run-id': `baseline-${cmd.mode}-${i}`,
    };
    if (cmd.mode === 'guarded') {
      const res = await guardedFetch(rampart.services.outbound, cmd.url, {
        method: 'POST',
        headers,
        body: cmd.body,
        timeoutMs: 10_000,
        maxBytes: 0,
      });
      return res.status;
    }
    const res = await undiciFetch(cmd.url, {
      method: 'POST',
      headers,
      body: cmd.body,
      dispatcher: plainAgent,
    });
    await res.arrayBuffer();
    return res.status;
  };
  const worker = async () => {
    while (next < cmd.requests) {
      const status = await send(next++).catch(() => 0);
      if (status !== 200) failed++;
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: cmd.concurrency }, worker));
  return { requests: cmd.requests, failed, wallMs: performance.now() - t0 };
}

async function handle(cmd: Command): Promise<unknown> {
  switch (cmd.op) {
    case 'setup':
      return setup(cmd.orgs, cmd.jobsPerOrg, cmd.url, cmd.body);
    case 'drain':
      return drain(new Date(cmd.now), cmd.profile);
    case 'retarget':
      return retarget(cmd.url);
    case 'due':
      return setDue(new Date(cmd.slot), cmd.orgs);
    case 'runs':
      return runs(
        cmd.slot === null ? null : new Date(cmd.slot),
        cmd.since === null ? null : new Date(cmd.since),
      );
    case 'start':
      jobRunner.start();
      return null;
    case 'stop':
      // Waits for the runs in flight.
      await jobRunner.stop();
      return null;
    case 'http':
      return http(cmd);
    case 'close':
      await plainAgent.close();
      await rampart.close();
      return null;
  }
}

port.on('message', (msg: { id: number; cmd: Command }) => {
  handle(msg.cmd).then(
    (reply) => port.postMessage({ id: msg.id, reply }),
    (err: unknown) =>
      port.postMessage({
        id: msg.id,
        error:
          err instanceof Error
            ? `${err.stack ?? err.message}${'detail' in err && err.detail ? `\n${String(err.detail)}` : ''}`
            : String(err),
      }),
  );
});
port.postMessage({ ready: true });
