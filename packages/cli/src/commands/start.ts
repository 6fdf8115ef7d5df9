import cluster from 'node:cluster';
import type { Command } from 'commander';
import { runPrimary } from '../cluster.js';
import { loadServer } from '../server.js';

type Server = Awaited<ReturnType<typeof loadServer>>;
type Config = ReturnType<Server['loadConfig']>;

export function registerStart(program: Command): void {
  program
    .command('start')
    .description('start the Rampart server (PGlite by default, PostgreSQL when DATABASE_URL is set)')
    .option('-p, --port <port>', 'port to listen on (overrides PORT)')
    .option('-H, --host <host>', 'address to bind (overrides HOST)')
    .action(async (opts: { port?: string; host?: string }) => {
      const server = await loadServer();
      const config = server.loadConfig({
        ...process.env,
        ...(opts.port ? { PORT: opts.port } : {}),
        ...(opts.host ? { HOST: opts.host } : {}),
      });
      // A worker forked by the primary below runs this same command (node:cluster re-runs the CLI's argv).
      if (cluster.isWorker) {
        return serve(server, config).catch((err: unknown) => {
          // The IPC channel to the primary would keep a worker that failed to start alive: end it, so the
          // primary sees the failure (and stops, or restarts it after its back-off).
          process.stderr.write(`rampart: ${err instanceof Error ? err.message : String(err)}\n`);
          process.exit(err instanceof Error && err.name === 'ConfigError' ? 2 : 1);
        });
      }
      const workers = server.workerCount(config);
      if (workers === 1) return serve(server, config);
      refuseUnsafeWorkers(server, config, workers);
      // Development keys are generated here, once, before any worker exists: the workers only read the files.
      const keys = server.resolveKeyMaterial(config);
      for (const w of keys.warnings) process.stderr.write(`\n  SECURITY WARNING: ${w}\n\n`);
      const log = server.createLogger({ level: config.LOG_LEVEL ?? 'info' });
      log.info({ workers }, `starting ${workers} workers`);
      await runPrimary({ workers, log });
    });
}

/**
 * Several workers need a database they can share (PGlite is one process's embedded database) and, in
 * production, shared rate-limit counters: in memory, each worker would count its own share, so a client
 * spreading connections over N workers would get N times every limit (login back-off included).
 */
function refuseUnsafeWorkers(server: Server, config: Config, workers: number): void {
  const auto = config.RAMPART_WORKERS === 'auto' ? ` (auto: ${workers} cores)` : '';
  const problems: string[] = [];
  if (!config.DATABASE_URL) {
    problems.push(
      `RAMPART_WORKERS: ${workers} workers${auto} need PostgreSQL, and PGlite serves one process only: set DATABASE_URL, or RAMPART_WORKERS=1`,
    );
  }
  if (config.NODE_ENV === 'production' && !config.REDIS_URL) {
    problems.push(
      `RAMPART_WORKERS: ${workers} workers${auto} in production need REDIS_URL, so rate limits count every worker's requests together (or set RAMPART_WORKERS=1)`,
    );
  }
  if (problems.length) throw new server.ConfigError(problems);
  if (!config.REDIS_URL) {
    process.stderr.write(
      `\n  SECURITY WARNING: RAMPART_WORKERS=${workers} without REDIS_URL: each worker counts rate limits in its own memory, so a client can get up to ${workers} times each limit\n\n`,
    );
  }
}

/** One server process: the whole of `rampart start` with one worker, or one worker under the primary. */
async function serve(server: Server, config: Config): Promise<never> {
  const rampart = await server.createRampart({ config });
  const { app } = rampart;
  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down: finishing in-flight requests');
    // Hard stop if draining hangs, so an orchestrator's SIGKILL is never needed.
    const force = setTimeout(() => process.exit(1), 25_000);
    force.unref();
    rampart.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  // A worker gets each signal twice when the whole process group or cgroup is signalled (a terminal's Ctrl-C,
  // systemd's default KillMode): once directly, once passed on by the primary. The second must not kill it
  // mid-drain. A lone server keeps `once`: a second Ctrl-C stops it at once.
  const listen = cluster.isWorker ? process.on.bind(process) : process.once.bind(process);
  listen('SIGTERM', () => shutdown('SIGTERM'));
  listen('SIGINT', () => shutdown('SIGINT'));
  let address: string;
  try {
    address = await app.listen({ port: config.PORT, host: config.HOST });
  } catch (err) {
    // EADDRINUSE, EACCES...: close the database first, so the PGlite lock is released and the process
    // exits at once instead of holding the data directory until its handles wind down.
    await rampart.close().catch(() => {});
    throw err;
  }
  const where = config.DATABASE_URL
    ? 'PostgreSQL (DATABASE_URL)'
    : `PGlite in ${config.RAMPART_DATA_DIR}/data`;
  const worker = cluster.worker ? { worker: cluster.worker.id } : {};
  app.log.info(
    { address, engine: rampart.engine, ...worker },
    `Rampart listening on ${address}, database: ${where}`,
  );
  // Block until a signal ends the process.
  return new Promise<never>(() => {});
}
