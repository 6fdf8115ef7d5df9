// Messages between the jobs bench (main thread) and a runner instance (a worker thread with its own Rampart).

/** How a worker builds its Rampart: on PostgreSQL (shared by every instance) or on its own in-memory PGlite. */
export interface InstanceConfig {
  /** Absent: PGlite, in memory, private to the worker. */
  readonly databaseUrl?: string;
  /** RAMPART_JOB_CONCURRENCY: runs in flight per instance (and per claim pass) at most. */
  readonly concurrency: number;
}

export interface SetupResult {
  readonly orgIds: readonly string[];
}

export interface DrainResult {
  /** Runs this instance executed (the sum of its `tick()` results). */
  readonly runs: number;
  /** Claim passes (`tick()` calls), and how many of them claimed nothing while due work was still listed. */
  readonly ticks: number;
  readonly emptyTicks: number;
  /** Claim passes that threw, by message (the pass is retried, as the poll loop does). */
  readonly errors: Readonly<Record<string, number>>;
  readonly wallMs: number;
  /** Self time by category (µs), when profiled. */
  readonly profile?: ReadonlyArray<readonly [string, number]>;
}

export interface RunRows {
  readonly ids: readonly string[];
  readonly statuses: Readonly<Record<string, number>>;
  /** Errors recorded on failed runs, by their first words (`blocked: …` becomes `blocked`). */
  readonly errors: Readonly<Record<string, number>>;
  /** `duration_ms` of each run: from just before the request to the outcome, retries included. */
  readonly durationsMs: readonly number[];
}

export interface HttpResult {
  readonly requests: number;
  readonly failed: number;
  readonly wallMs: number;
}

export type Command =
  /** Signs up `orgs` orgs, creates one job each through the API and copies it to `jobsPerOrg` jobs per org. */
  | { op: 'setup'; orgs: number; jobsPerOrg: number; url: string; body: string }
  /** `tick(now)` until a pass claims nothing and the database lists no due work at `now`. */
  | { op: 'drain'; now: string; profile: boolean }
  /** Sets `next_run_at` to `slot` for the jobs of the first `orgs` orgs (all when null), parks the rest. */
  | { op: 'due'; slot: string; orgs: number | null }
  /** Points every job at `url` (same method and body). */
  | { op: 'retarget'; url: string }
  /** The scheduled runs of one slot, or those started at or after `since`. */
  | { op: 'runs'; slot: string | null; since: string | null }
  /** The production poll loop on the wall clock: `start()`, and `stop()` (which waits for the runs in flight). */
  | { op: 'start' }
  | { op: 'stop' }
  /** `requests` POSTs to `url` from `concurrency` loops: plain undici fetch, or the runner's guarded fetch. */
  | {
      op: 'http';
      mode: 'plain' | 'guarded';
      url: string;
      body: string;
      requests: number;
      concurrency: number;
    }
  | { op: 'close' };
