// Fault runs: acknowledged writes (`PUT /api/orgs/:orgId/secrets/:name`, unique names, each audited) while
// a fault happens; afterwards every name answered 200 must be listed, and `rampart admin audit verify` must
// exit 0.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { signup } from '@rampart/testing';
import { auditVerify, call, ServerProcess, serverEnv, sleep } from './server.js';

export interface WriteLog {
  readonly acked: Set<string>;
  /** Statuses other than 200 (and `network`), with counts. */
  readonly failures: Map<string, number>;
  /** [ms since start, ok] per answer. */
  readonly timeline: Array<[number, boolean]>;
  sent: number;
}

/** Closed-loop writers until `stop()`; names are `prefix-<n>`. */
export function writers(
  origin: () => string,
  orgId: string,
  session: string,
  prefix: string,
  concurrency: number,
  valueBytes: number,
  stop: () => boolean,
): { log: WriteLog; done: Promise<void> } {
  const log: WriteLog = { acked: new Set(), failures: new Map(), timeline: [], sent: 0 };
  const t0 = performance.now();
  let seq = 0;
  const one = async () => {
    while (!stop()) {
      const name = `${prefix}-${seq++}`;
      log.sent++;
      const value = randomBytes(Math.ceil(valueBytes * 0.75)).toString('base64');
      let key: string;
      try {
        const res = await fetch(`${origin()}/api/orgs/${orgId}/secrets/${name}`, {
          method: 'PUT',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${session}` },
          body: JSON.stringify({ value }),
          signal: AbortSignal.timeout(15_000),
        });
        await res.arrayBuffer();
        if (res.status === 200) {
          log.acked.add(name);
          log.timeline.push([performance.now() - t0, true]);
          continue;
        }
        key = String(res.status);
      } catch {
        key = 'network error';
      }
      log.timeline.push([performance.now() - t0, false]);
      log.failures.set(key, (log.failures.get(key) ?? 0) + 1);
      await sleep(25);
    }
  };
  return { log, done: Promise.all(Array.from({ length: concurrency }, one)).then(() => {}) };
}

export interface FaultResult {
  readonly scenario: string;
  readonly sent: number;
  readonly acked: number;
  readonly failed: string;
  readonly lost: number;
  readonly extra: number;
  /** Longest run of failing answers, first failure to next success. */
  readonly outageS: number;
  readonly verify: string;
  readonly notes: string[];
}

async function listed(origin: string, orgId: string, session: string): Promise<Set<string>> {
  const r = await call(origin, 'GET', `/api/orgs/${orgId}/secrets`, undefined, {
    authorization: `Bearer ${session}`,
  });
  return new Set((r.secrets as Array<{ name: string }>).map((s) => s.name));
}

function outage(timeline: ReadonlyArray<[number, boolean]>): number {
  const sorted = [...timeline].sort((a, b) => a[0] - b[0]);
  let worst = 0;
  let firstFail: number | undefined;
  for (const [t, ok] of sorted) {
    if (!ok && firstFail === undefined) firstFail = t;
    if (ok && firstFail !== undefined) {
      worst = Math.max(worst, t - firstFail);
      firstFail = undefined;
    }
  }
  if (firstFail !== undefined) worst = Math.max(worst, (sorted.at(-1)?.[0] ?? firstFail) - firstFail);
  return worst / 1000;
}

const failedText = (m: ReadonlyMap<string, number>) =>
  m.size === 0 ? 'none' : [...m].map(([k, n]) => `${k} × ${n}`).join(', ');

async function signUp(origin: string): Promise<{ orgId: string; session: string }> {
  const s = await signup(origin, { email: `fault-${Date.now()}@example.com`, orgName: 'Fault Bench' });
  return { orgId: String(s.orgId), session: String(s.token) };
}

/** Compares the acknowledged names with those listed after the fault, stops the server, verifies the audit. */
async function settle(
  scenario: string,
  server: ServerProcess,
  env: Record<string, string>,
  t: { orgId: string; session: string },
  log: WriteLog,
  notes: string[],
): Promise<FaultResult> {
  const present = await listed(server.origin, t.orgId, t.session);
  const lost = [...log.acked].filter((n) => !present.has(n));
  if (lost.length > 0) notes.push(`lost acknowledged writes: ${lost.slice(0, 5).join(', ')}…`);
  await server.stop();
  const v = auditVerify(env);
  return {
    scenario,
    sent: log.sent,
    acked: log.acked.size,
    failed: failedText(log.failures),
    lost: lost.length,
    extra: present.size - (log.acked.size - lost.length),
    outageS: outage(log.timeline),
    verify: v.code === 0 ? 'exit 0' : `exit ${v.code}: ${v.out}`,
    notes,
  };
}

/** kill -9 the server mid-load, restart it on the same database, keep writing. */
export async function killNine(
  label: string,
  port: number,
  db: { url?: string; dataDir?: string },
): Promise<FaultResult> {
  const env = serverEnv(port, db);
  let server = await ServerProcess.start(env);
  const t = await signUp(server.origin);
  let stopping = false;
  const w = writers(
    () => server.origin,
    t.orgId,
    t.session,
    'k9',
    16,
    64,
    () => stopping,
  );
  await sleep(4000);
  await server.kill9();
  const notes = [`SIGKILL after 4 s, exit ${JSON.stringify(server.exit)}`];
  const restartAt = performance.now();
  server = await ServerProcess.start(env);
  notes.push(`restarted healthy in ${((performance.now() - restartAt) / 1000).toFixed(1)} s`);
  await sleep(4000);
  stopping = true;
  await w.done;
  return settle(`kill -9 the server (${label})`, server, env, t, w.log, notes);
}

/** Restart the shared PostgreSQL cluster while writes run. */
export async function restartPostgres(port: number, dbUrl: string, cluster: string): Promise<FaultResult> {
  const env = serverEnv(port, { url: dbUrl });
  const server = await ServerProcess.start(env);
  const t = await signUp(server.origin);
  let stopping = false;
  const w = writers(
    () => server.origin,
    t.orgId,
    t.session,
    'pg',
    16,
    64,
    () => stopping,
  );
  await sleep(3000);
  const [ver = '15', name = 'main'] = cluster.split('/');
  const at = performance.now();
  // Asynchronously: a spawnSync here would block the writers' event loop for the whole outage.
  const r = await new Promise<{ status: number | null }>((resolve) =>
    spawn('pg_ctlcluster', [ver, name, 'restart'], { stdio: 'ignore' }).on('exit', (status) =>
      resolve({ status }),
    ),
  );
  const notes = [
    `pg_ctlcluster ${ver} ${name} restart took ${((performance.now() - at) / 1000).toFixed(1)} s (exit ${r.status})`,
  ];
  await sleep(6000);
  stopping = true;
  await w.done;
  notes.push(server.exit ? `server exited: ${JSON.stringify(server.exit)}` : 'server stayed up');
  return settle('restart PostgreSQL (shared cluster)', server, env, t, w.log, notes);
}

/** PGlite data dir on a small tmpfs, filled up under write load; then space freed, restart, check. */
export async function diskFull(port: number, mountPoint: string): Promise<FaultResult> {
  mkdirSync(mountPoint, { recursive: true });
  const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=256m', 'tmpfs', mountPoint], { encoding: 'utf8' });
  if (m.status !== 0) throw new Error(`mount failed: ${m.stderr}`);
  const filler = `${mountPoint}/filler`;
  let server: ServerProcess | undefined;
  try {
    const env = serverEnv(port, { dataDir: `${mountPoint}/rampart` });
    server = await ServerProcess.start(env);
    const t = await signUp(server.origin);
    const st = statfsSync(mountPoint);
    const free = st.bavail * st.bsize;
    const leave = 4 * 2 ** 20;
    writeFileSync(filler, Buffer.alloc(Math.max(0, free - leave)));
    const notes = [`tmpfs 256 MB; ${(leave / 2 ** 20).toFixed(0)} MB left free after start-up`];
    let stopping = false;
    const s = server;
    const w = writers(
      () => s.origin,
      t.orgId,
      t.session,
      'df',
      8,
      16_000,
      () => stopping,
    );
    const deadline = performance.now() + 20_000;
    let streak = 0;
    let seen = 0;
    while (performance.now() < deadline && !server.exit) {
      await sleep(250);
      const fresh = w.log.timeline.slice(seen);
      seen = w.log.timeline.length;
      streak = fresh.length > 0 && fresh.every(([, ok]) => !ok) ? streak + 1 : 0;
      if (streak >= 12) break;
    }
    const beforeFree = w.log.acked.size;
    notes.push(
      server.exit
        ? `server died while the disk was full: ${JSON.stringify(server.exit)}; log: ${server.log.slice(-300)}`
        : `server stayed up with the disk full; answers so far: ${failedText(w.log.failures)}`,
    );
    rmSync(filler);
    await sleep(3000);
    const afterFree = w.log.acked.size - beforeFree;
    notes.push(`${afterFree} writes acknowledged in the 3 s after the space was freed (without restart)`);
    stopping = true;
    await w.done;
    const clean = await server.stop(15_000);
    notes.push(clean ? 'stopped on SIGTERM' : 'needed SIGKILL to stop');
    server = await ServerProcess.start(env);
    return await settle('fill the PGlite data dir (tmpfs)', server, env, t, w.log, notes);
  } finally {
    await server?.stop(15_000);
    rmSync(filler, { force: true });
    spawnSync('umount', [mountPoint]);
    rmSync(mountPoint, { recursive: true, force: true });
  }
}
