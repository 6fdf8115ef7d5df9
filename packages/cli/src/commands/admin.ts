import type { Database, resolveKeyMaterial } from '@rampart/server';
import type { Command } from 'commander';
import { loadServer } from '../server.js';
import { registerAdminMail } from './admin-mail.js';
import { registerAdminNotices } from './admin-notices.js';
import { exportAudit } from './audit-export.js';
import { registerBackup } from './backup.js';
import { progressBar } from './progress.js';

/** Opens the configured database for a maintenance command; closes it when `fn` settles. */
export async function withDatabase<T>(
  fn: (db: Database, ring: ReturnType<typeof resolveKeyMaterial>['ring']) => Promise<T>,
): Promise<T> {
  const { loadConfig, openDatabase, resolveKeyMaterial } = await loadServer();
  const config = loadConfig(process.env);
  const keys = resolveKeyMaterial(config);
  for (const w of keys.warnings) process.stderr.write(`warning: ${w}\n`);
  const { db } = await openDatabase({ databaseUrl: config.DATABASE_URL, dataDir: config.RAMPART_DATA_DIR });
  try {
    return await fn(db, keys.ring);
  } finally {
    await db.close();
  }
}

/**
 * Says on stderr which kind of user the maintenance command connects as. Informational only: maintenance
 * walks tenant data org by org under row-level security, so a non-superuser owner without BYPASSRLS (typical
 * of managed PostgreSQL) works the same as a superuser.
 */
async function reportRole(db: Database): Promise<void> {
  const { rows } = await db.owner((q) =>
    q.query<{ rolname: string; rolsuper: boolean; rolbypassrls: boolean }>(
      'SELECT rolname, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user',
    ),
  );
  const r = rows[0];
  const kind = !r
    ? 'unknown role'
    : r.rolsuper
      ? 'superuser'
      : r.rolbypassrls
        ? 'BYPASSRLS'
        : 'no RLS bypass';
  process.stderr.write(
    `database user ${r?.rolname ?? '?'} (${kind}); tenant data is processed org by org under row-level security\n`,
  );
}

/**
 * Recomputes every audit chain (or one org's), each in its own context (app role, under RLS: works whether or
 * not the owner bypasses RLS), printing one line per chain (or one JSON document) on stdout.
 * @returns how many chains did not verify
 */
export async function verifyAllChains(
  db: Database,
  opts: { org?: string; json?: boolean } = {},
): Promise<{ checked: number; bad: number }> {
  const { listChains, verifyChain } = await loadServer();
  const chains = opts.org ? [opts.org] : await listChains(db);
  let bad = 0;
  const results = [];
  for (const orgId of chains) {
    const r =
      orgId === null
        ? await db.platform((q) => verifyChain(q, null))
        : await db.org(orgId, (q) => verifyChain(q, orgId));
    results.push({ chain: orgId ?? 'platform', ...r });
    if (!r.ok) bad++;
    if (!opts.json) {
      const label = orgId ?? 'platform';
      process.stdout.write(
        r.ok
          ? `ok       ${label}  ${r.count} rows  head ${r.head}\n`
          : `TAMPERED ${label}  row ${r.problem?.seq}: ${r.problem?.reason}  (${r.count} rows verified before it)\n`,
      );
    }
  }
  if (opts.json) process.stdout.write(`${JSON.stringify({ ok: bad === 0, chains: results })}\n`);
  else process.stdout.write(`${chains.length} chain(s) checked, ${bad} with problems\n`);
  return { checked: chains.length, bad };
}

export function registerAdmin(program: Command): void {
  const admin = program
    .command('admin')
    .description('operator maintenance commands (run against the configured database)');

  const audit = admin.command('audit').description('audit log integrity and export');
  audit
    .command('verify')
    .description('recompute every hash chain and compare with the stored heads; exit 1 on any tampering')
    .option('--org <orgId>', 'verify one org only')
    .option('--json', 'machine-readable output')
    .action(async (opts: { org?: string; json?: boolean }) => {
      await withDatabase(async (db) => {
        await reportRole(db);
        const { bad } = await verifyAllChains(db, opts);
        process.exitCode = bad ? 1 : 0;
      });
    });
  audit
    .command('export')
    .description('stream an org audit log as NDJSON or CSV to stdout')
    .requiredOption('--org <orgId>', 'org to export')
    .option('--format <format>', 'ndjson or csv', 'ndjson')
    .action(async (opts: { org: string; format: string }) => {
      if (opts.format !== 'ndjson' && opts.format !== 'csv')
        throw new Error('--format must be ndjson or csv');
      await withDatabase((db) => exportAudit(db, opts.org, opts.format as 'ndjson' | 'csv', process.stdout));
    });

  registerAdminMail(admin, withDatabase);
  registerAdminNotices(admin, withDatabase);
  registerBackup(admin, verifyAllChains);

  admin
    .command('create-operator')
    .description('grant platform-operator access to an account (created if absent, with a one-time password)')
    .requiredOption('--email <email>', "the operator's email address")
    .action(async (opts: { email: string }) => {
      const { createOperator } = await loadServer();
      await withDatabase(async (db) => {
        const r = await createOperator(db, opts.email);
        if (r.initialPassword) {
          process.stdout.write(`created operator ${opts.email} (user ${r.userId})\n`);
          process.stdout.write(
            `initial password (shown once, change it after signing in): ${r.initialPassword}\n`,
          );
        } else {
          process.stdout.write(`granted operator access to existing user ${opts.email} (user ${r.userId})\n`);
        }
        process.stdout.write(
          'next: sign in, enrol TOTP (POST /api/auth/totp/enroll + confirm), then sign in again with a code;\n',
        );
        process.stdout.write('admin routes refuse operators whose session was not verified with TOTP.\n');
      });
    });

  admin
    .command('rotate-keys')
    .description(
      're-seal every sealed column under the newest master key (first in RAMPART_MASTER_KEYS); resumable',
    )
    .action(async () => {
      const { rotateKeys } = await loadServer();
      await withDatabase(async (db, ring) => {
        await reportRole(db);
        process.stderr.write(`rotating sealed values to key "${ring.primaryId}"\n`);
        const bar = progressBar();
        const result = await rotateKeys(db, ring, (p) => bar.update(p.column, p.done, p.total));
        bar.stop();
        process.stdout.write(`rewrapped ${result.rewrapped} value(s) to key "${ring.primaryId}"\n`);
        for (const c of result.columns) process.stdout.write(`  ${c.column}: ${c.rewrapped}\n`);
      });
    });

  admin
    .command('backfill-secrets')
    .description(
      'seal legacy plaintext values left in sealed columns, under the newest master key; resumable, idempotent',
    )
    .option('--json', 'machine-readable summary on stdout')
    .action(async (opts: { json?: boolean }) => {
      const { backfillSecrets } = await loadServer();
      await withDatabase(async (db, ring) => {
        await reportRole(db);
        process.stderr.write(`sealing legacy plaintext values under key "${ring.primaryId}"\n`);
        const bar = progressBar();
        const result = await backfillSecrets(db, ring, (p) => bar.update(p.column, p.done, p.total));
        bar.stop();
        if (opts.json) {
          process.stdout.write(`${JSON.stringify({ key: ring.primaryId, ...result })}\n`);
          return;
        }
        process.stdout.write(
          `sealed ${result.sealed} legacy plaintext value(s) under key "${ring.primaryId}"\n`,
        );
        for (const c of result.columns) process.stdout.write(`  ${c.column}: ${c.sealed}\n`);
      });
    });
}
