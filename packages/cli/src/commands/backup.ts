import type { Database } from '@rampart/server';
import type { Command } from 'commander';
import { loadServer } from '../server.js';

type VerifyAll = (db: Database) => Promise<{ checked: number; bad: number }>;

const log = (line: string) => process.stderr.write(`${line}\n`);

/** The configured engine: PostgreSQL when DATABASE_URL is set, else PGlite under RAMPART_DATA_DIR. */
async function target(): Promise<{ databaseUrl?: string; dataDir: string }> {
  const { loadConfig } = await loadServer();
  const config = loadConfig(process.env);
  return {
    ...(config.DATABASE_URL ? { databaseUrl: config.DATABASE_URL } : {}),
    dataDir: config.RAMPART_DATA_DIR,
  };
}

/** `rampart admin backup` and `rampart admin restore` (docs/OPERATIONS.md, Backups and restore). */
export function registerBackup(admin: Command, verifyAll: VerifyAll): void {
  admin
    .command('backup')
    .description(
      'write a backup: pg_dump -Fc with every tenant row (PostgreSQL), or a tarball of the embedded database (PGlite; server stopped)',
    )
    .requiredOption('--out <file>', 'backup file to write (mode 0600)')
    .action(async (opts: { out: string }) => {
      const { backupPglite, backupPostgres } = await loadServer();
      const t = await target();
      if (t.databaseUrl) {
        const r = await backupPostgres(t.databaseUrl, opts.out, log);
        process.stdout.write(`backup written to ${opts.out} (${r.bytes} bytes, PostgreSQL, as ${r.role})\n`);
      } else {
        const r = await backupPglite(t.dataDir, opts.out, log);
        process.stdout.write(`backup written to ${opts.out} (${r.bytes} bytes, embedded PGlite)\n`);
      }
    });

  admin
    .command('restore')
    .description(
      'restore a backup into an empty database, then verify every audit chain (exit 1 if any fails)',
    )
    .argument('<file>', 'a file written by `rampart admin backup`')
    .option(
      '--force',
      'restore over existing data (PostgreSQL: pg_restore --clean; PGlite: moves the data aside)',
    )
    .action(async (file: string, opts: { force?: boolean }) => {
      const { restorePglite, restorePostgres } = await loadServer();
      const t = await target();
      if (t.databaseUrl) await restorePostgres(t.databaseUrl, file, { force: !!opts.force }, log);
      else await restorePglite(t.dataDir, file, { force: !!opts.force }, log);
      log('verifying the audit chains of the restored data');
      // Opened without key material (verifying hashes needs none; withDatabase would create development keys)
      // and without migrating: the server applies pending migrations at start, as its own user.
      const { openDatabase } = await loadServer();
      const { db } = await openDatabase({ ...t, migrate: false });
      let verdict: { checked: number; bad: number };
      try {
        verdict = await verifyAll(db);
      } finally {
        await db.close();
      }
      const { checked, bad } = verdict;
      if (bad) {
        process.stderr.write(
          `rampart: RESTORE NOT TRUSTWORTHY: ${bad} of ${checked} audit chain(s) did not verify (see above); do not put this database into service\n`,
        );
        process.exitCode = 1;
        return;
      }
      process.stdout.write(`restored ${file}; ${checked} audit chain(s) verified\n`);
    });
}
