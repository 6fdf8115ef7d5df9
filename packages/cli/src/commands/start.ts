import type { Command } from 'commander';
import { loadServer } from '../server.js';

export function registerStart(program: Command): void {
  program
    .command('start')
    .description('start the Rampart server (PGlite by default, PostgreSQL when DATABASE_URL is set)')
    .option('-p, --port <port>', 'port to listen on (overrides PORT)')
    .option('-H, --host <host>', 'address to bind (overrides HOST)')
    .action(async (opts: { port?: string; host?: string }) => {
      const { createRampart, loadConfig } = await loadServer();
      const config = loadConfig({
        ...process.env,
        ...(opts.port ? { PORT: opts.port } : {}),
        ...(opts.host ? { HOST: opts.host } : {}),
      });
      const rampart = await createRampart({ config });
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
      process.once('SIGTERM', () => shutdown('SIGTERM'));
      process.once('SIGINT', () => shutdown('SIGINT'));
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
      app.log.info(
        { address, engine: rampart.engine },
        `Rampart listening on ${address}, database: ${where}`,
      );
      // Block until a signal ends the process.
      await new Promise<never>(() => {});
    });
}
