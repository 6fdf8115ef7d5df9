/**
 * One org must not stall every tenant's scheduled jobs (issue 19, finding 7). The review saw 40 manual runs at
 * a host that never answers delay another org's every-minute job by 71 s and skip a slot: the runner claimed
 * the oldest work first, across orgs, until every slot hung. Here the real polling loop runs (50 ms polls, 8
 * slots, the default cap of 4 runs in flight per org), the attacker's job times out after 3 s three times, and the victim's
 * slots are made due by moving its `next_run_at` to the current minute (no waiting for wall-clock minutes).
 * Manual runs are also rate-limited per org (shared through Redis when REDIS_URL is set).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Account, api, signup, startTarget, type Target } from '@rampart/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, startTestServer } from './helpers.js';

type Srv = Awaited<ReturnType<typeof startTestServer>>;
interface Run {
  id: string;
  trigger: string;
  scheduledFor: string;
  status: string;
}

/** A host that accepts every request and never answers; counts requests and the most open at once. */
async function startTarpit(): Promise<{
  origin: string;
  stats: { total: number; open: number; maxOpen: number };
  close: () => Promise<void>;
}> {
  const stats = { total: 0, open: 0, maxOpen: 0 };
  const server: Server = createServer((req) => {
    stats.total++;
    stats.open++;
    stats.maxOpen = Math.max(stats.maxOpen, stats.open);
    req.socket.on('close', () => {
      stats.open--;
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    stats,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const ON_TIME_MS = 1_000;
const redis = process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : {};

describe.each(ENGINES)('one org cannot stall other orgs’ schedules (%s)', (engine) => {
  let srv: Srv;
  let attacker: Account;
  let victim: Account;
  let tarpit: Awaited<ReturnType<typeof startTarpit>>;
  let target: Target;

  beforeAll(async () => {
    tarpit = await startTarpit();
    target = await startTarget();
    srv = await startTestServer(engine, {
      RAMPART_OUTBOUND_ALLOW: '127.0.0.1',
      RAMPART_JOB_RUNNER: 'on',
      RAMPART_JOB_POLL_MS: '50',
      RAMPART_JOB_CONCURRENCY: '8',
      RAMPART_JOB_RETRY_BASE_MS: '5',
      RAMPART_JOB_RETRY_MAX_MS: '20',
      // The attack needs 40 runs queued at once; the rate limit has its own test below.
      RAMPART_JOB_MANUAL_RUNS_PER_MINUTE: '1000',
    });
    attacker = await signup(srv.baseUrl);
    victim = await signup(srv.baseUrl);
  });
  afterAll(async () => {
    await tarpit.close(); // hanging runs fail at once, so the runner stops quickly
    await srv.close();
    await target.close();
  });

  it('40 manual runs at a host that never answers do not delay another org’s every-minute job or skip its slot', async () => {
    // The victim's own every-minute slot must not fire by itself mid-test (nor the minute turn between a slot
    // and its check): start well inside a minute.
    while (new Date().getUTCSeconds() >= 50) await new Promise((r) => setTimeout(r, 250));
    const a = api(srv.baseUrl, attacker.token);
    const hang = await a.post<{ id: string }>(`/api/orgs/${attacker.orgId}/jobs`, {
      name: 'tarpit',
      schedule: '0 0 1 1 *',
      url: `${tarpit.origin}/never`,
      // Three attempts of 3 s each: a run holds its slot for about 9 s, like the review's 3 × 10 s.
      timeoutMs: 3_000,
      retries: 2,
    });
    expect(hang.status, hang.text).toBe(201);
    const v = api(srv.baseUrl, victim.token);
    const job = await v.post<{ id: string }>(`/api/orgs/${victim.orgId}/jobs`, {
      name: 'every minute',
      schedule: '* * * * *',
      url: `${target.origin}/ok/victim`,
    });
    expect(job.status, job.text).toBe(201);

    const queued = await Promise.all(
      Array.from({ length: 40 }, () => a.post(`/api/orgs/${attacker.orgId}/jobs/${hang.body.id}/run`)),
    );
    expect(queued.map((r) => r.status)).toEqual(Array(40).fill(202));
    // The attacker's runs are hanging in the runner's slots.
    await expect.poll(() => tarpit.stats.open, { timeout: 5_000, interval: 20 }).toBeGreaterThanOrEqual(4);

    // Sample how many of the attacker's runs are running while the victim's slots come due.
    let sampling = true;
    let maxRunning = 0;
    const sampler = (async () => {
      while (sampling) {
        const { rows } = await srv.rampart.services.db.org(attacker.orgId, (q) =>
          q.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM job_runs WHERE org_id = $1 AND status = 'running'`,
            [attacker.orgId],
          ),
        );
        maxRunning = Math.max(maxRunning, rows[0]?.n ?? 0);
        await new Promise((r) => setTimeout(r, 25));
      }
    })();
    const delays: number[] = [];
    for (let slot = 0; slot < 2; slot++) {
      const due = Date.now();
      const minute = due - (due % 60_000);
      // Slot 0 is this minute's; slot 1 the previous minute's (a distinct slot, due just the same).
      const scheduled = new Date(minute - slot * 60_000);
      await srv.rampart.services.db.org(victim.orgId, (q) =>
        q.query('UPDATE jobs SET next_run_at = $3 WHERE org_id = $1 AND id = $2', [
          victim.orgId,
          job.body.id,
          scheduled,
        ]),
      );
      await expect
        .poll(() => target.on('/ok/victim').length, { timeout: 20_000, interval: 10 })
        .toBe(slot + 1);
      delays.push((target.on('/ok/victim')[slot]?.at ?? 0) - due);
      expect(delays[slot], `victim delays ${delays.join(', ')} ms`).toBeLessThan(ON_TIME_MS);
      const after = await v.get<{ nextRunAt: string }>(`/api/orgs/${victim.orgId}/jobs/${job.body.id}`);
      // Claimed within its minute: the next slot is the following minute, none skipped.
      expect(after.body.nextRunAt).toBe(new Date(minute + 60_000).toISOString());
      // The attack is still going on.
      expect(tarpit.stats.open).toBeGreaterThanOrEqual(1);
    }
    sampling = false;
    await sampler;
    const runs = await v.get<{ runs: Run[] }>(`/api/orgs/${victim.orgId}/jobs/${job.body.id}/runs`);
    expect(runs.body.runs.filter((r) => r.trigger === 'schedule' && r.status === 'succeeded')).toHaveLength(
      2,
    );
    // The attacker never held more than its cap of the node's 8 slots.
    expect(maxRunning).toBeGreaterThanOrEqual(1);
    expect(maxRunning).toBeLessThanOrEqual(4);
  });
});

describe('manual runs are rate-limited per org', () => {
  it('a flood of run-now requests gets 429 rate_limited with Retry-After; other orgs are unaffected', async () => {
    const srv = await startTestServer('pglite', {
      ...redis,
      RAMPART_OUTBOUND_ALLOW: '127.0.0.1',
      RAMPART_JOB_MANUAL_RUNS_PER_MINUTE: '5',
    });
    try {
      const make = async (who: Account) => {
        const r = await api(srv.baseUrl, who.token).post<{ id: string }>(`/api/orgs/${who.orgId}/jobs`, {
          name: 'manual',
          schedule: '0 0 1 1 *',
          url: 'https://example.com/',
        });
        expect(r.status, r.text).toBe(201);
        return `/api/orgs/${who.orgId}/jobs/${r.body.id}/run`;
      };
      const flooder = await signup(srv.baseUrl);
      const other = await signup(srv.baseUrl);
      const path = await make(flooder);
      const statuses: number[] = [];
      let limited: Response | undefined;
      for (let i = 0; i < 8; i++) {
        const res = await fetch(`${srv.baseUrl}${path}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${flooder.token}` },
        });
        statuses.push(res.status);
        if (res.status === 429) limited ??= res;
        else await res.text();
      }
      expect(statuses).toEqual([202, 202, 202, 202, 202, 429, 429, 429]);
      const body = (await limited?.json()) as { error: string; message: string };
      expect(body.error).toBe('rate_limited');
      expect(body.message).toMatch(/Too many manual runs for this org; retry in \d+ s/);
      expect(Number(limited?.headers.get('retry-after'))).toBeGreaterThan(0);
      // Only what was accepted was queued.
      const { rows } = await srv.rampart.services.db.org(flooder.orgId, (q) =>
        q.query<{ n: number }>(`SELECT count(*)::int AS n FROM job_runs WHERE org_id = $1`, [flooder.orgId]),
      );
      expect(rows[0]?.n).toBe(5);
      const otherPath = await make(other);
      expect((await api(srv.baseUrl, other.token).post(otherPath)).status).toBe(202);
    } finally {
      await srv.close();
    }
  });
});
