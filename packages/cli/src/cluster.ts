import cluster, { type Worker } from 'node:cluster';

/** The logger methods the primary uses (pino's signature: fields first, then the message). */
export interface PrimaryLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface PrimaryOptions {
  workers: number;
  log: PrimaryLog;
  /** Waiting for workers to drain after SIGTERM/SIGINT; past it they are killed and the primary exits 1. */
  drainTimeoutMs?: number;
  /** First restart delay after a crash; doubled per crash in a row, at most {@link RESTART_MAX_MS}. */
  restartBaseMs?: number;
}

export const RESTART_MAX_MS = 30_000;
/** A worker that ran this long before dying starts its slot's back-off over. */
const STABLE_MS = 60_000;

/**
 * The `rampart start` primary with RAMPART_WORKERS > 1: forks the workers (each a whole server; node:cluster
 * shares the listening socket, connections are handed out round-robin), restarts one that dies unexpectedly
 * after a back-off (0.5 s, doubling per crash in a row up to 30 s), and on SIGTERM/SIGINT passes the signal on so
 * every worker drains, then exits: 0 when all drained cleanly, 1 otherwise. A worker dying before any worker
 * has ever listened is a start-up failure (bad database URL, port taken): the primary stops the others and
 * exits with the worker's code instead of restarting it forever.
 * Resolves never; the process exits from here.
 */
export function runPrimary(opts: PrimaryOptions): Promise<never> {
  const { log } = opts;
  const drainMs = opts.drainTimeoutMs ?? 30_000;
  const baseMs = opts.restartBaseMs ?? 500;
  const slots = new Map<Worker, number>();
  const failures: number[] = new Array(opts.workers).fill(0);
  const restartTimers = new Set<NodeJS.Timeout>();
  let everListened = false;
  let stopping = false;
  let exitCode = 0;
  let announced = false;
  const listening = new Set<Worker>();

  const fork = (slot: number) => {
    const startedAt = Date.now();
    const worker = cluster.fork();
    slots.set(worker, slot);
    worker.on('listening', (address) => {
      everListened = true;
      listening.add(worker);
      if (!announced && listening.size === opts.workers) {
        announced = true;
        const host = address.address && address.address !== '::' ? address.address : '127.0.0.1';
        const shown = host.includes(':') ? `[${host}]` : host;
        log.info(
          { workers: opts.workers },
          `Rampart primary: ${opts.workers} workers listening on http://${shown}:${address.port}`,
        );
      }
    });
    worker.on('exit', (code, signal) => {
      slots.delete(worker);
      listening.delete(worker);
      const pid = worker.process.pid;
      if (stopping) {
        if (code !== 0) {
          if (exitCode === 0) exitCode = 1;
          log.warn({ pid, code, signal }, 'a worker did not drain cleanly');
        }
        if (slots.size === 0) finish();
        return;
      }
      if (!everListened) {
        log.error({ pid, code, signal }, 'a worker failed to start; stopping');
        exitCode = typeof code === 'number' && code !== 0 ? code : 1;
        stop();
        if (slots.size === 0) finish();
        return;
      }
      failures[slot] = Date.now() - startedAt >= STABLE_MS ? 0 : (failures[slot] ?? 0) + 1;
      const delay = Math.min(RESTART_MAX_MS, baseMs * 2 ** Math.max(0, (failures[slot] ?? 1) - 1));
      log.error({ pid, code, signal, restartInMs: delay }, 'worker exited unexpectedly; restarting it');
      const t = setTimeout(() => {
        restartTimers.delete(t);
        if (!stopping) fork(slot);
      }, delay);
      restartTimers.add(t);
    });
  };

  const finish = () => {
    log.info({ code: exitCode }, 'all workers stopped');
    process.exit(exitCode);
  };

  const stop = (signal: NodeJS.Signals = 'SIGTERM') => {
    stopping = true;
    for (const t of restartTimers) clearTimeout(t);
    restartTimers.clear();
    for (const w of slots.keys()) {
      // The worker's own handler drains it (and forces its exit after 25 s); a worker that already got the
      // same signal from the terminal's process group ignores the second one.
      if (!w.isDead()) w.process.kill(signal);
    }
    const force = setTimeout(() => {
      log.error({ workers: slots.size }, 'workers still running after the drain timeout; killing them');
      exitCode = 1;
      for (const w of slots.keys()) if (!w.isDead()) w.process.kill('SIGKILL');
    }, drainMs);
    force.unref();
  };

  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return;
    log.info({ signal, workers: slots.size }, 'shutting down: draining every worker');
    stop(signal);
    if (slots.size === 0) finish();
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));

  for (let slot = 0; slot < opts.workers; slot++) fork(slot);
  return new Promise<never>(() => {});
}
